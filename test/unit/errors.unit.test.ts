import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoServerError,
  type BulkWriteResult,
} from 'mongodb';
import { describe, expect, it } from 'vitest';
import { classifyError, fatalMessage } from '../../src/source/errors.js';

describe('error classification', () => {
  const server = (code: number) => new MongoServerError({ code, errmsg: `code ${code}` });
  it.each([
    [server(286), 'historyLost'],
    [server(136), 'historyLost'],
    [server(18), 'fatal'],
    [server(40573), 'fatal'],
    [server(11600), 'infrastructure'],
    [server(91), 'infrastructure'],
    [new MongoNetworkError('socket closed'), 'infrastructure'],
    [Object.assign(new Error('write ECONNRESET'), { code: 'ECONNRESET' }), 'infrastructure'],
    [new Error('handler bug'), 'other'],
    [server(2), 'other'],
  ])('%s is %s', (error, expected) => {
    expect(classifyError(error)).toBe(expected);
  });

  // What driver 7 throws when a connection drops during a bulkWrite: the network error wrapped,
  // its class, cause and labels gone (seen live as "MongoBulkWriteError: read ECONNRESET").
  const bulk = (error: Error | { message: string; code: number }) =>
    new MongoBulkWriteError(error, {} as BulkWriteResult);
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  it.each([
    [
      'a dropped connection',
      bulk(new MongoNetworkError(reset.message, { cause: reset })),
      'infrastructure',
    ],
    [
      'a socket timeout',
      bulk(new MongoNetworkTimeoutError('connection 3 to 127.0.0.1:1 timed out')),
      'infrastructure',
    ],
    ['a plain socket error', bulk(reset), 'infrastructure'],
    ['a server refusal', bulk({ message: 'bad value', code: 2 }), 'other'],
    ['a serialization error', bulk(new Error('Document is larger than the maximum size')), 'other'],
  ])('a bulk write ended by %s (%s) is %s', (_, error, expected) => {
    expect(classifyError(error)).toBe(expected);
  });

  it('looks through causes, and stops on a cycle', () => {
    const wrapped = new Error('module m failed', { cause: new MongoNetworkError('closed') });
    expect(classifyError(wrapped)).toBe('infrastructure');
    const cyclic: Error & { cause?: unknown } = new Error('a');
    cyclic.cause = cyclic;
    expect(classifyError(cyclic)).toBe('other');
  });

  it('explains what to do for errors that will not heal', () => {
    expect(fatalMessage(server(40573))).toMatch(/replica set/);
    expect(fatalMessage(server(18))).toMatch(/credentials/);
  });
});
