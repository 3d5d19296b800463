// Where published rigs are looked for, and what a checksum list says: pure rules.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { checkMirror, parseChecksums, publishedSource, RELEASE_REPOSITORY } from '../../src/rig/published.js';

const base = { download: true, mirrorLabel: '--rig-mirror', env: {}, version: '1.2.3' };

describe('publishedSource', () => {
  it("looks in the running action's own release, on the runner's server", () => {
    const env = { GITHUB_ACTION_REPOSITORY: 'acme/xen-pvh-virtio-action', GITHUB_ACTION_REF: 'v1.4.0' };
    expect(publishedSource({ ...base, env })).toEqual({
      url: 'https://github.com/acme/xen-pvh-virtio-action/releases/download/v1.4.0/',
      via: 'the release v1.4.0 of acme/xen-pvh-virtio-action',
    });
    expect(publishedSource({ ...base, env: { ...env, GITHUB_SERVER_URL: 'https://ghe.example.com' } }).url).toBe(
      'https://ghe.example.com/acme/xen-pvh-virtio-action/releases/download/v1.4.0/',
    );
    // A ref is a path segment, never more; a server that is not plain https is not used.
    expect(publishedSource({ ...base, env: { ...env, GITHUB_ACTION_REF: '../../x?y' } }).url).toBe(
      'https://github.com/acme/xen-pvh-virtio-action/releases/download/..%2F..%2Fx%3Fy/',
    );
    expect(publishedSource({ ...base, env: { ...env, GITHUB_SERVER_URL: 'http://evil.example' } }).url).toMatch(/^https:\/\/github\.com\//);
    expect(publishedSource({ ...base, env: { ...env, GITHUB_ACTION_REPOSITORY: 'a/b/../c' } })).toEqual({ via: 'GITHUB_ACTION_REPOSITORY is not owner/name: a/b/../c' });
  });

  it("looks in the CLI's own version's release, or the mirror, or nowhere when told", () => {
    expect(publishedSource(base).url).toBe(`https://github.com/${RELEASE_REPOSITORY}/releases/download/v1.2.3/`);
    expect(publishedSource({ ...base, mirror: 'https://rigs.example.com/xpv' })).toEqual({ url: 'https://rigs.example.com/xpv/', via: 'the mirror https://rigs.example.com/xpv' });
    expect(publishedSource({ ...base, download: false })).toEqual({ via: 'rig-download is false' });
  });
});

describe('checkMirror', () => {
  it('takes https anywhere and http only on this machine, never credentials', () => {
    expect(checkMirror('http://127.0.0.1:8080/r', '--rig-mirror').href).toBe('http://127.0.0.1:8080/r/');
    expect(() => checkMirror('http://rigs.example.com/', '--rig-mirror')).toThrow(ConfigError);
    expect(() => checkMirror('http://rigs.example.com/', '--rig-mirror')).toThrow('--rig-mirror: published rigs are fetched over https only (http only from this machine), got http://rigs.example.com');
    expect(() => checkMirror('https://u:secret@rigs.example.com/', '--rig-mirror')).toThrow('credentials in the URL would reach logs');
    expect(() => checkMirror('ftp://x/', '--rig-mirror')).toThrow(ConfigError);
    expect(() => checkMirror('not a url', '--rig-mirror')).toThrow('--rig-mirror: not a URL: not a url');
  });
});

describe('parseChecksums', () => {
  it("reads sha256sum's text and binary lines and ignores the rest", () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const sums = parseChecksums(`${a}  one.tar.gz\n${b} *two.tar.gz\nnot a line\n${'c'.repeat(63)}  short.tar.gz\n`);
    expect([...sums]).toEqual([['one.tar.gz', a], ['two.tar.gz', b]]);
  });
});
