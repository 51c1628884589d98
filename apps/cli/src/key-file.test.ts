import { describe, expect, it } from 'vitest';
import { CliError } from './cli-error.js';
import { parseKeyFile } from './key-file.js';

describe('parseKeyFile', () => {
  it('reads JSON arrays and { items } objects', () => {
    expect(parseKeyFile('[{"consumer":"a"},{"consumer":"b","name":"ci"}]', 'k.json')).toEqual([{ consumer: 'a' }, { consumer: 'b', name: 'ci' }]);
    expect(parseKeyFile('{"items":[{"consumer":"a","expiresAt":"2030-01-01T00:00:00Z"}]}', 'k.json')).toEqual([{ consumer: 'a', expiresAt: '2030-01-01T00:00:00Z' }]);
  });

  it('reads CSV with a header, in any column order, empty cells left out', () => {
    const csv = 'name,consumer,expiresAt\nprod,acme,2030-01-01T00:00:00Z\n\n# a comment\n,globex,\r\n';
    expect(parseKeyFile(csv, 'k.csv')).toEqual([{ consumer: 'acme', name: 'prod', expiresAt: '2030-01-01T00:00:00Z' }, { consumer: 'globex' }]);
    expect(parseKeyFile('consumer\nacme\n', 'k.csv')).toEqual([{ consumer: 'acme' }]);
  });

  it('refuses what it cannot read, naming the file and line', () => {
    expect(() => parseKeyFile('[{"consumer":', 'k.json')).toThrow(CliError);
    expect(() => parseKeyFile('{"keys":[]}', 'k.json')).toThrow(/expected an array/);
    expect(() => parseKeyFile('name\nprod\n', 'k.csv')).toThrow(/"consumer" column/);
    expect(() => parseKeyFile('consumer,key\nacme,tg_x\n', 'k.csv')).toThrow(/unknown CSV column\(s\) "key"/);
    expect(() => parseKeyFile('consumer,name\nacme,a,b\n', 'k.csv')).toThrow(/line 2 has 3 fields/);
  });
});
