// How callers name a domain (`domU1`, `d1`, `DOM1`, a domid) and how messages and log files
// name it back: by its scenario name when it has one, so a report reads like its scenario.
import { ConfigError } from '../errors.js';
import { sourceOfDomid, type SourceId } from './demux.js';

/** A domain as callers name it: `xen`, `dom0`, `d1`, `DOM1`, a scenario name (`domU1`) or a domid. */
export type DomainRef = string | number;

export class DomainNames {
  private readonly domids: Map<string, number>;

  constructor(domains: readonly { name: string; domid: number }[] = []) {
    this.domids = new Map(domains.map((d) => [d.name, d.domid]));
  }

  /** The source id of a caller's name for a domain; a name nobody declared is a configuration error. */
  resolve(ref: DomainRef): SourceId {
    if (typeof ref === 'number') return sourceOfDomid(ref);
    if (ref === 'xen' || ref === 'dom0') return ref;
    const byName = this.domids.get(ref);
    if (byName !== undefined) return sourceOfDomid(byName);
    const m = /^(?:d|dom)(\d+)$/i.exec(ref);
    if (m) return sourceOfDomid(Number(m[1]));
    const known = ['xen', 'dom0', ...this.domids.keys()].join(', ');
    throw new ConfigError(`unknown console domain "${ref}" (known: ${known}, or d<domid>)`);
  }

  /** The name messages and log files use: the scenario's name for a domU, else the source id. */
  display(source: SourceId): string {
    if (source === 'xen' || source === 'dom0') return source;
    const domid = Number(source.slice(1));
    for (const [name, id] of this.domids) if (id === domid) return name;
    return source;
  }
}
