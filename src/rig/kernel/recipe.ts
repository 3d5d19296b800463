// What the kernel built from source is made of. Everything here feeds the component's key.

/** Bump when the build procedure changes in a way the data below does not show. */
export const KERNEL_BUILD_VERSION = 'linux-build-1';
export const KERNEL_COMPONENT = 'linux';

/** Debian's own kernel source when no tree is given: trixie's 6.12 (grant DMA for PCI hosts described in DT needs ≥ 6.2). */
export const LINUX_SOURCE = 'linux';
export const LINUX_SUITE = 'trixie';

/** Marks the kernels we build: `uname -r` says 6.12.8-xen-pvh-virtio. */
export const LOCALVERSION = '-xen-pvh-virtio';

/**
 * One small kernel for dom0 and every domU: `allnoconfig` plus exactly these, all built in
 * (no modules, so the ramdisks need none). `make allnoconfig KCONFIG_ALLCONFIG=` keeps a
 * symbol only when its dependencies hold; the build checks every line survived.
 */
export const KERNEL_CONFIG: readonly string[] = [
  `CONFIG_LOCALVERSION="${LOCALVERSION}"`,
  // The basics busybox, dropbear, the Xen tools and QEMU use.
  'CONFIG_SMP=y',
  'CONFIG_NR_CPUS=8',
  'CONFIG_PRINTK=y',
  'CONFIG_PRINTK_TIME=y',
  'CONFIG_BUG=y',
  'CONFIG_KALLSYMS=y', // readable backtraces in forensics
  'CONFIG_MULTIUSER=y',
  'CONFIG_BINFMT_ELF=y',
  'CONFIG_BINFMT_SCRIPT=y',
  'CONFIG_FUTEX=y',
  'CONFIG_EPOLL=y',
  'CONFIG_SIGNALFD=y',
  'CONFIG_TIMERFD=y',
  'CONFIG_EVENTFD=y',
  'CONFIG_SHMEM=y',
  'CONFIG_AIO=y',
  'CONFIG_FILE_LOCKING=y',
  'CONFIG_POSIX_TIMERS=y',
  'CONFIG_HIGH_RES_TIMERS=y',
  'CONFIG_NO_HZ_IDLE=y',
  'CONFIG_PROC_FS=y',
  'CONFIG_PROC_SYSCTL=y',
  'CONFIG_SYSFS=y',
  'CONFIG_TMPFS=y',
  'CONFIG_DEVTMPFS=y',
  'CONFIG_INOTIFY_USER=y',
  // Root is a gzip'd initramfs; virtio-blk disks are raw.
  'CONFIG_BLK_DEV_INITRD=y',
  'CONFIG_RD_GZIP=y',
  'CONFIG_BLOCK=y',
  'CONFIG_BLK_DEV=y',
  // Consoles: hvc0 (Xen's PV console) and the PL011 Xen emulates for a domU with vpl011;
  // PTYs for dropbear.
  'CONFIG_TTY=y',
  'CONFIG_UNIX98_PTYS=y',
  'CONFIG_SERIAL_AMBA_PL011=y',
  'CONFIG_SERIAL_AMBA_PL011_CONSOLE=y',
  'CONFIG_HVC_XEN=y',
  // dom0's eth0 (the outer QEMU's virtio-net-pci) and the domUs' virtio-pci devices.
  'CONFIG_NET=y',
  'CONFIG_INET=y',
  'CONFIG_UNIX=y',
  'CONFIG_PACKET=y',
  'CONFIG_NETDEVICES=y',
  'CONFIG_NET_CORE=y',
  'CONFIG_PCI=y',
  'CONFIG_PCI_HOST_GENERIC=y',
  'CONFIG_VIRTIO_MENU=y',
  'CONFIG_VIRTIO_PCI=y',
  'CONFIG_VIRTIO_PCI_LEGACY=y',
  'CONFIG_VIRTIO_MMIO=y',
  'CONFIG_VIRTIO_NET=y',
  'CONFIG_VIRTIO_BLK=y',
  // Xen: dom0's device files (xenstored needs xenbus_backend, QEMU privcmd and gntdev).
  'CONFIG_XEN=y',
  'CONFIG_XEN_BACKEND=y',
  'CONFIG_XENFS=y',
  'CONFIG_XEN_COMPAT_XENFS=y',
  'CONFIG_XEN_SYS_HYPERVISOR=y',
  'CONFIG_XEN_DEV_EVTCHN=y',
  'CONFIG_XEN_GNTDEV=y',
  'CONFIG_XEN_GRANT_DEV_ALLOC=y',
  'CONFIG_XEN_PRIVCMD=y',
  // Grant-based virtio: DMA through grants to the backend domain the DT's iommu-map names.
  'CONFIG_XEN_VIRTIO=y',
  'CONFIG_XEN_GRANT_DMA_OPS=y',
];
