import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goQuote } from '../../../src/cli/commands/kv.js';

describe("kv fields output quoting (Go's strconv.Quote)", () => {
  it('escapes like Go: control bytes, invalid UTF-8, quotes; keeps printable runes', () => {
    assert.equal(goQuote(Buffer.from('plain')), '"plain"');
    assert.equal(goQuote(Buffer.from('a"b\\c')), '"a\\"b\\\\c"');
    assert.equal(
      goQuote(Buffer.from([0, 7, 8, 9, 10, 11, 12, 13, 0x1b, 0x7f])),
      '"\\x00\\a\\b\\t\\n\\v\\f\\r\\x1b\\x7f"',
    );
    assert.equal(goQuote(Buffer.from('ключ')), '"ключ"');
    assert.equal(goQuote(Buffer.from([0xff, 0xd0, 0xba, 0xc3])), '"\\xffк\\xc3"');
    assert.equal(goQuote(Buffer.from('\u00a0\u2028')), '"\\u00a0\\u2028"');
    assert.equal(goQuote(Buffer.from('😀')), '"😀"');
    assert.equal(
      goQuote(Buffer.from([0xed, 0xa0, 0x80])),
      '"\\xed\\xa0\\x80"',
      'UTF-16 surrogates are invalid UTF-8',
    );
  });
});
