import { describe, expect, it } from 'vitest';
import { ProductFailure } from '../../../src/errors.js';
import { checkOutput } from '../../../src/steps/check.js';

describe('scenario checks', () => {
  const lspci = '0001:00:00.0 Host bridge: Red Hat, Inc. QEMU PCIe Host bridge\n0001:00:01.0 Ethernet controller: Red Hat, Inc. Virtio network device\n';

  it('passes when the output matches, line anchors included', () => {
    expect(() => checkOutput(lspci, { expect: /Virtio network device$/m })).not.toThrow();
    expect(() => checkOutput(lspci, { expectNot: /Virtio block/m })).not.toThrow();
  });

  it('fails like a test, quoting the pattern and the received text', () => {
    let error: unknown;
    try {
      checkOutput('0001:00:00.0 Host bridge\n', { expect: /Virtio network device/m }, 'console tail');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProductFailure);
    const message = (error as Error).message;
    // Reporters show the first line as the title: the pattern, not Jest's API.
    expect(message).toMatch(/^Expected pattern: \/Virtio network device\/m\n/);
    expect(message).toContain('Received string:  "0001:00:00.0 Host bridge');
    expect(message).not.toContain('\x1b[');
    expect((error as ProductFailure).detail.consoleTail).toBe('console tail');
  });

  it('fails an expect-not that matches', () => {
    expect(() => checkOutput(lspci, { expectNot: /Virtio/m })).toThrow(/^Expected pattern: not \/Virtio\/m\n/);
  });
});
