import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { redactUri } from '../../src/observability/redact.js';

describe('credential redaction', () => {
  it('hides the password of a URI', () => {
    expect(redactUri('mongodb://app:s3cret@db1:27017/x')).toBe('mongodb://app:***@db1:27017/x');
    expect(redactUri('mongodb+srv://app:s3cret@cluster/x')).not.toContain('s3cret');
    expect(redactUri('mongodb://db1:27017')).toBe('mongodb://db1:27017');
  });

  it('never lets a password reach a log line', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger({ level: 'info', pretty: false, destination: sink });
    log.info(
      { uri: 'mongodb://u:pw123@h/db', nested: { e: new Error('at mongodb://u:pw123@h') } },
      'connecting to mongodb://u:pw123@h',
    );
    expect(lines.join('')).toContain('u:***@h');
    expect(lines.join('')).not.toContain('pw123');
  });
});
