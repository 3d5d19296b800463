// Lines that mean the system under test is dead or dying: waiting any longer only wastes the
// job's minutes, so every pending wait is rejected soon after one of these appears.
import type { SourceId } from './demux.js';

export interface FatalPattern {
  pattern: RegExp;
  /** Which lines it is checked on: Xen's own, or a Linux kernel's (dom0 or a domU). */
  on: 'xen' | 'kernel';
  /** `machine` stops every domain (Xen is gone); `domain` only the one that printed it. */
  scope: 'machine' | 'domain';
  what: string;
}

export const FATAL_PATTERNS: readonly FatalPattern[] = [
  { pattern: /Panic on CPU \d+/, on: 'xen', scope: 'machine', what: 'Xen panic' },
  { pattern: /Hardware Dom0 crashed/, on: 'xen', scope: 'machine', what: 'dom0 crashed' },
  { pattern: /Kernel panic - not syncing/, on: 'kernel', scope: 'domain', what: 'kernel panic' },
  { pattern: /Attempted to kill init/, on: 'kernel', scope: 'domain', what: 'init died' },
  { pattern: /Unable to handle kernel /, on: 'kernel', scope: 'domain', what: 'kernel fault' },
  // "Internal error: Oops: …" and "Oops - BUG: …": the bare word would fire on harmless output.
  { pattern: /\bOops(?::| - )/, on: 'kernel', scope: 'domain', what: 'kernel oops' },
  // docs/rig-facts.md, "Device tree dump": a DT listing a device the machine lacks kills dom0 this way.
  { pattern: /synchronous external abort/, on: 'kernel', scope: 'domain', what: 'synchronous external abort' },
  // Our dom0's rc: xenstored, xenconsoled or init-dom0less failed, so the dom0less domains are
  // not (all) there, whatever runs later (the rigs' BOOT_FAULT line).
  { pattern: /xen-pvh-virtio: boot fault: /, on: 'kernel', scope: 'machine', what: 'a boot fault in dom0 (the dom0less system did not come up)' },
];

export interface FatalHit {
  source: SourceId;
  scope: 'machine' | 'domain';
  what: string;
  line: string;
}

/** The first fatal pattern a line matches, if any. */
export function matchFatal(source: SourceId, text: string, patterns: readonly FatalPattern[] = FATAL_PATTERNS): FatalHit | undefined {
  const on = source === 'xen' ? 'xen' : 'kernel';
  for (const p of patterns) {
    if (p.on === on && p.pattern.test(text)) return { source, scope: p.scope, what: p.what, line: text };
  }
  return undefined;
}
