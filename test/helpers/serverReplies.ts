import { MongoBulkWriteError, MongoServerError, type Document } from 'mongodb';

/**
 * Driver errors built from a server's exact reply, for the seams where a real server cannot be
 * made to answer so on demand (a write concern timing out, a change event over 16 MB, a
 * non-resumable change stream). Built the way driver 7 builds them (bulk/common.js
 * handleWriteError, error.js MongoServerError): the reply's fields, its error labels, and for a
 * bulk write the per-op `writeErrors` with the `writeConcernError` kept in the result.
 */
export interface WriteReply {
  ok: 1;
  n?: number;
  writeErrors?: { index: number; code: number; errmsg: string }[];
  writeConcernError?: { code: number; codeName: string; errmsg: string; errInfo?: Document };
}

export function bulkWriteError(reply: WriteReply): MongoBulkWriteError {
  const writeErrors = (reply.writeErrors ?? []).map((w) => ({ ...w, toJSON: () => w }));
  const wce = reply.writeConcernError;
  const result = {
    ok: reply.ok,
    getWriteConcernError: () => wce && { ...wce, toJSON: () => wce },
    getWriteErrors: () => writeErrors,
  };
  const first = writeErrors[0];
  const error = first
    ? { message: first.errmsg, code: first.code, writeErrors }
    : { message: wce?.errmsg ?? 'write failed', code: wce?.code };
  return new MongoBulkWriteError(error as never, result as never);
}

/** A command's error reply (`{ ok: 0, code, codeName, errmsg, errorLabels }`). */
export function serverError(reply: {
  code: number;
  codeName: string;
  errmsg: string;
  errorLabels?: string[];
}): MongoServerError {
  return new MongoServerError({ ok: 0, ...reply });
}
