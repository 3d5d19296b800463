// Capabilities come from one module for every provider, read off the evidence, in the order
// manifest.ts lists them.
import { describe, expect, it } from 'vitest';
import { dom0Evidence, rigCapabilities, xenPropertyCapabilities } from '../../../src/rig/capabilities.js';

const xen = (...properties: string[]) => Buffer.from(`\0${properties.join('\0')}\0`, 'latin1');
const ours = { xenTools: true, ssh: true };

describe('rig capabilities', () => {
  it("give Debian's patched Xen what its rigs have always claimed, in manifest order", () => {
    const caps = rigCapabilities({
      xen: xen('trap-unmapped-accesses', 'vpl011', 'xen,domain'),
      xenConfig: 'CONFIG_EXPERT=y\nCONFIG_IOREQ_SERVER=y\n',
      kernelConfig: '# CONFIG_XEN_VIRTIO is not set\n',
      dom0: ours,
      qemuXenpvhPci: true,
    });
    expect(caps).toEqual(['dom0less', 'vpl011', 'xen-tools', 'ssh', 'ioreq', 'trap-unmapped-accesses', 'qemu-xenpvh-pci']);
  });

  it("read the seed's Xen and a kernel with grant-based virtio", () => {
    const caps = rigCapabilities({ xen: xen('xen,domain', 'vpl011', 'virtio-pci-ranges'), xenConfig: '', kernelConfig: 'CONFIG_XEN_VIRTIO=y\n', dom0: ours, qemuXenpvhPci: false });
    expect(caps).toEqual(['dom0less', 'vpl011', 'xen-tools', 'ssh', 'dom0less-virtio-pci', 'virtio-grants']);
  });

  it('claim nothing a Yocto deploy directory does not show', () => {
    const dom0 = dom0Evidence(new Set(['usr/sbin/xl', 'usr/sbin/oxenstored']));
    expect(dom0).toEqual({ xenTools: true, ssh: false });
    // No kernel .config: the grant-dma binding's name in the Image stands for CONFIG_XEN_VIRTIO.
    const caps = rigCapabilities({ xen: xen('xen,domain'), kernel: Buffer.from('..xen,grant-dma..'), dom0, qemuXenpvhPci: false });
    expect(caps).toEqual(['dom0less', 'xen-tools', 'virtio-grants']);
    expect(rigCapabilities({ xen: xen(), dom0: dom0Evidence(new Set()), qemuXenpvhPci: false })).toEqual([]);
  });

  it("name a Xen property only when the binary holds it", () => {
    expect(xenPropertyCapabilities(xen('virtio-pci'))).toEqual([]);
  });
});
