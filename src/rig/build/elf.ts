// Reads what an ELF binary needs from the dynamic loader (PT_INTERP, DT_NEEDED, DT_RUNPATH),
// so a ramdisk gets exactly the shared libraries its binaries use, without running them.

export interface ElfNeeds {
  /** The program interpreter (dynamic loader) path; absent for static binaries and libraries. */
  interpreter?: string;
  /** Sonames from DT_NEEDED, in file order. */
  needed: string[];
  /** Directories from DT_RUNPATH / DT_RPATH, split on ':'. */
  runpath: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

/** True when the bytes start with the ELF magic. */
export function isElf(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.readUInt32BE(0) === 0x7f454c46;
}

/** Parses a 64-bit little-endian ELF file (all arm64 Debian binaries are). */
export function readElfNeeds(bytes: Buffer): ElfNeeds {
  if (!isElf(bytes)) throw new Error('not an ELF file');
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new Error('only 64-bit little-endian ELF is supported');
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const phentsize = bytes.readUInt16LE(0x36);
  const phnum = bytes.readUInt16LE(0x38);

  const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
  let interpreter: string | undefined;
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    const type = bytes.readUInt32LE(at);
    const offset = bytes.readBigUInt64LE(at + 8);
    const vaddr = bytes.readBigUInt64LE(at + 16);
    const filesz = bytes.readBigUInt64LE(at + 32);
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    if (type === PT_INTERP) interpreter = cString(bytes, Number(offset));
    if (type === PT_DYNAMIC) dynamic = { offset: Number(offset), size: Number(filesz) };
  }
  if (!dynamic) return { interpreter, needed: [], runpath: [] };

  const entries: { tag: bigint; value: bigint }[] = [];
  for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.size; at += 16) {
    const tag = bytes.readBigInt64LE(at);
    if (tag === DT_NULL) break;
    entries.push({ tag, value: bytes.readBigUInt64LE(at + 8) });
  }
  const strtabAddr = entries.find((e) => e.tag === DT_STRTAB)?.value;
  if (strtabAddr === undefined) throw new Error('dynamic section without DT_STRTAB');
  // DT_STRTAB holds a virtual address: map it back to a file offset through the PT_LOAD segments.
  const segment = loads.find((l) => strtabAddr >= l.vaddr && strtabAddr < l.vaddr + l.filesz);
  if (!segment) throw new Error('DT_STRTAB lies outside every PT_LOAD segment');
  const strtab = Number(strtabAddr - segment.vaddr + segment.offset);

  const needed: string[] = [];
  const runpath: string[] = [];
  for (const e of entries) {
    if (e.tag === DT_NEEDED) needed.push(cString(bytes, strtab + Number(e.value)));
    if (e.tag === DT_RUNPATH || e.tag === DT_RPATH) {
      runpath.push(...cString(bytes, strtab + Number(e.value)).split(':').filter(Boolean));
    }
  }
  return { interpreter, needed, runpath };
}

function cString(bytes: Buffer, at: number): string {
  const end = bytes.indexOf(0, at);
  return bytes.toString('latin1', at, end < 0 ? bytes.length : end);
}
