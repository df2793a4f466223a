import { MongoNetworkError, MongoServerError } from 'mongodb';
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

  it('explains what to do for errors that will not heal', () => {
    expect(fatalMessage(server(40573))).toMatch(/replica set/);
    expect(fatalMessage(server(18))).toMatch(/credentials/);
  });
});
