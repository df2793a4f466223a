import type { Db, Document } from 'mongodb';

/**
 * A Db whose event_store answers change streams from a script, for what a real server does that
 * the embedded one cannot be made to do on demand (an invalidate, a change event over 16 MB, a
 * non-resumable error, a post-batch token while idle). Each `watch` takes the next script; a step
 * is a change document (returned by tryNext), `{ idle: token }` (tryNext answers null and the
 * stream's resumeToken becomes the server's post-batch token) or `{ fail: error }`. A script that
 * runs out answers null. `findOne` reads `documents` by _id. Every open is recorded.
 */
export type Step = Document | { idle: Document | null } | { fail: Error };

export interface Opened {
  pipeline: Document[];
  options: Document;
}

export function fakeStreamDb(scripts: Step[][], documents: Document[] = []) {
  const opened: Opened[] = [];
  let closed = 0;
  const collection = {
    watch(pipeline: Document[], options: Document) {
      opened.push({ pipeline, options });
      const steps = [...(scripts[opened.length - 1] ?? [])];
      let resumeToken: Document | null = null;
      return {
        get resumeToken() {
          return resumeToken;
        },
        tryNext() {
          const step = steps.shift();
          if (step === undefined) return Promise.resolve(null);
          if ('fail' in step && step.fail instanceof Error) return Promise.reject(step.fail);
          if ('idle' in step) {
            resumeToken = step.idle as Document | null;
            return Promise.resolve(null);
          }
          resumeToken = (step as Document)._id as Document;
          return Promise.resolve(step);
        },
        close() {
          closed++;
          return Promise.resolve();
        },
      };
    },
    findOne(filter: { _id: { $eq: unknown } }) {
      const id = JSON.stringify(filter._id.$eq);
      return Promise.resolve(documents.find((d) => JSON.stringify(d._id) === id) ?? null);
    },
  };
  const db = { collection: () => collection } as unknown as Db;
  return {
    db,
    opened,
    get closed() {
      return closed;
    },
  };
}
