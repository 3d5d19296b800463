// The start-up scripts and /etc files of our two ramdisks. busybox init runs the rc script
// once (sysinit), then keeps a root shell on the console, respawning it when it exits.

export const READY_LINE = {
  dom0: 'xen-pvh-virtio: dom0 shell ready',
  domU: 'xen-pvh-virtio: domU shell ready',
} as const;

/**
 * What dom0's rc prints when a step of bringing up the dom0less system fails; the console
 * treats it as fatal (console/fatal.ts), so the boot ends where it failed, with its lines.
 */
export const BOOT_FAULT = 'xen-pvh-virtio: boot fault:';

/** Where our rc script lives in both ramdisks. */
export const RC_PATH = '/etc/xen-pvh-virtio/rc';

// cttyhack makes the real console (hvc0 or ttyAMA0) the shell's controlling tty, so job
// control and CTRL-C work; -l makes the shell read /etc/profile for PATH and PS1.
export const INITTAB = `::sysinit:${RC_PATH}
::respawn:/bin/cttyhack /bin/sh -l
::restart:/sbin/init
`;

export function profile(prompt: string, extraPath = ''): string {
  return `export PATH=/usr/sbin:/usr/bin:/sbin:/bin${extraPath ? `:${extraPath}` : ''}
export HOME=/root
export PS1='${prompt}'
cd /root
`;
}

export const ETC_PASSWD = 'root:x:0:0:root:/root:/bin/sh\n';
export const ETC_GROUP = 'root:x:0:\n';
export const ETC_SHELLS = '/bin/sh\n';

// Shared first steps: busybox needs /proc/self/exe before it can install its applet links.
function basics(hostname: string, modules: readonly string[]): string {
  return `#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /tmp /var/log && chmod 1777 /tmp
hostname ${hostname}
${
  modules.length
    ? `for m in ${modules.join(' ')}; do
  modprobe "$m" || echo "xen-pvh-virtio: cannot load module $m"
done
`
    : ''
}`;
}

export function dom0Rc(modules: readonly string[], xenBin: string): string {
  return `${basics('dom0', modules)}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:${xenBin}

# The Xen tools keep sockets, locks and logs here; /var/run is a link to /run.
mount -t xenfs xenfs /proc/xen
mkdir -p /run/xen /run/xenstored /var/lib/xen /var/lib/xenstored /var/log/xen/console

# Same order as Xen's xencommons: the store first, dom0's own entries, consoles, then the
# dom0less domUs (init-dom0less needs all of the rest).
# A step that fails says "${BOOT_FAULT}": the harness ends the boot there, with these lines.
xenstored --pid-file /run/xenstored.pid || echo "${BOOT_FAULT} xenstored failed (exit $?)"
i=0
until xenstore-exists / 2>/dev/null; do
  i=$((i + 1))
  if [ $i -gt 100 ]; then echo "${BOOT_FAULT} xenstored did not answer"; break; fi
  sleep 0.2
done
xen-init-dom0 || echo "${BOOT_FAULT} xen-init-dom0 failed (exit $?)"
xenconsoled --pid-file=/run/xenconsoled.pid || echo "${BOOT_FAULT} xenconsoled failed (exit $?)"
init-dom0less || echo "${BOOT_FAULT} init-dom0less failed (exit $?)"

# QEMU user networking: the guest is 10.0.2.15, the gateway 10.0.2.2.
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2

# image/ appends a cpio with /root/.ssh/authorized_keys; dropbear refuses keys in
# group- or world-writable places, whatever modes that archive carried.
mkdir -p /root/.ssh /etc/dropbear
chown -R 0:0 /root
chmod 700 /root /root/.ssh
[ -f /root/.ssh/authorized_keys ] && chmod 600 /root/.ssh/authorized_keys
# -R makes host keys on first use, -s refuses passwords: only authorized_keys logs in.
dropbear -F -E -R -s -p 22 >/var/log/dropbear.log 2>&1 &

echo '${READY_LINE.dom0}'
`;
}

export function domURc(modules: readonly string[]): string {
  return `${basics('domU', modules)}
echo '${READY_LINE.domU}'
`;
}
