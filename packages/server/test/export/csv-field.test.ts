import { describe, expect, it } from 'vitest';
import { csvField } from '../../src/export/csv-field.js';

describe('csvField', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['\r=1', `"'\r=1"`],
    ['=A1,B1', `"'=A1,B1"`],
    ['a=1', 'a=1'],
    ['', ''],
  ])('writes the text %j as %j', (text, field) => {
    expect(csvField(text)).toBe(field);
  });

  it('writes numbers, null and JSON objects without the formula guard', () => {
    expect(csvField(-5)).toBe('-5');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField({ name: '=x' })).toBe('"{""name"":""=x""}"');
  });
});
