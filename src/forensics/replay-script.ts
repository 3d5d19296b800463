// replay.sh as text: the run's outer QEMU argv with the per-run files pointing into the repro
// folder, the serial on the terminal or a socket, and dom0's SSH on a port of the caller's choice.
import { basename } from 'node:path';
import type { BootMedia } from '../image/index.js';
import { optValue } from '../machine/index.js';

export interface ReplayInput {
  binary: string;
  args: readonly string[];
  media: BootMedia;
  /** Paths under this dir were copied next to replay.sh. */
  perRunDir: string;
  /** Rig files used in place: checked before QEMU starts, for a clear message. */
  referenced: readonly string[];
}

// Stand-ins for shell expansions, swapped in after quoting so nothing else can expand.
const HERE = '\u0001HERE\u0001';
const SOCKETS = '\u0001SOCKETS\u0001';
const PORT = '\u0001PORT\u0001';
const SERIAL = '\u0001SERIAL\u0001';

export function replayScript(input: ReplayInput): string {
  const { serialSocket, qmpSocket, sshPort } = input.media.launch;
  const words: string[] = [];
  const args = [...input.args];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    // The run's serial chardev and its -serial are replaced by the mode the caller picks.
    if (a === '-chardev' && args[i + 1]?.includes(`path=${optValue(serialSocket)},`)) {
      i++;
      continue;
    }
    if (a === '-serial' && args[i + 1]?.startsWith('chardev:')) {
      words.push(SERIAL);
      i++;
      continue;
    }
    let w = a.split(optValue(qmpSocket)).join(`${SOCKETS}/qmp.sock`);
    w = w.replace(`hostfwd=tcp:127.0.0.1:${sshPort}-:22`, `hostfwd=tcp:127.0.0.1:${PORT}-:22`);
    // Inside a QEMU option list a comma in a value is written `,,`.
    const list = w.includes('=');
    w = w.replace(/(^|[=,])(\/(?:[^,]|,,)+)/g, (whole, lead: string, written: string) => {
      const path = list ? written.replaceAll(',,', ',') : written;
      return path.startsWith(input.perRunDir + '/') ? `${lead}${HERE}/${list ? optValue(basename(path)) : basename(path)}` : whole;
    });
    words.push(quoteWord(w));
  }
  if (!words.includes(SERIAL)) throw new Error('replay.sh: the QEMU command has no -serial chardev to replace');
  // One option and its value per line, as in qemu-command.txt.
  const lines: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const next = words[i + 1];
    if (w === SERIAL) lines.push('"${serial[@]}"');
    else if (w.startsWith('-') && next !== undefined && next !== SERIAL && !next.startsWith('-')) {
      lines.push(`${w} ${next}`);
      i++;
    } else lines.push(w);
  }
  const command = lines.join(' \\\n  ');
  const checks = input.referenced.map((p) => `need ${quoteWord(p)}`).join('\n');

  return `#!/usr/bin/env bash
# Boots this run's machine again by hand: the same outer QEMU options and boot media.
#   REPLAY_SERIAL=stdio (default): Xen's console on this terminal through -serial mon:stdio.
#     QEMU owns CTRL-a there, so switching Xen's input takes CTRL-a CTRL-a, three times;
#     CTRL-a x quits QEMU.
#   REPLAY_SERIAL=socket: the console on $REPLAY_SOCKET_DIR/serial.sock (default: a new temp dir);
#     QEMU waits for the first client. CTRL-a reaches Xen as typed there.
#   REPLAY_SSH_PORT (default 2222): the host port on 127.0.0.1 forwarded to dom0's sshd.
#   REPLAY_QEMU: the qemu-system-aarch64 to run (default: the one on PATH).
#   REPLAY_SSH_KEY: the run's private key, for the ssh line below (not kept with the artifacts).
set -euo pipefail
here="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
ssh_port="\${REPLAY_SSH_PORT:-2222}"
qemu="\${REPLAY_QEMU:-${input.binary}}"
sockets="\${REPLAY_SOCKET_DIR:-}"
if [ -z "$sockets" ]; then sockets="$(mktemp -d "\${TMPDIR:-/tmp}/xpv-replay-XXXXXX")"; fi
mkdir -p "$sockets"

need() {
  if [ ! -e "$1" ]; then
    echo "replay.sh: $1 is gone from the rig cache; rebuild the rig with the same recipe (see rig-manifest.json)" >&2
    exit 1
  fi
}
${checks}

case "\${REPLAY_SERIAL:-stdio}" in
  stdio)
    serial=(-serial mon:stdio)
    attach="Xen's console is on this terminal: CTRL-a CTRL-a (three times) switches Xen's input, CTRL-a x quits."
    ;;
  socket)
    serial=(-chardev "socket,id=serial0,path=$sockets/serial.sock,server=on,wait=on" -serial chardev:serial0)
    attach="QEMU waits for the serial console: socat STDIO,rawer,escape=0x1d UNIX-CONNECT:$sockets/serial.sock (CTRL-] detaches)"
    ;;
  *)
    echo "replay.sh: REPLAY_SERIAL must be stdio or socket" >&2
    exit 2
    ;;
esac

cat >&2 <<EOF
replay.sh: booting from $here
  $attach
  QMP: $sockets/qmp.sock
  dom0 over SSH once it is up:
    ssh -i "\${REPLAY_SSH_KEY:-<private key of the run, not kept here>}" -p $ssh_port -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1
EOF

exec "$qemu" \\
  ${command}
`
    .split(HERE)
    .join('${here}')
    .split(SOCKETS)
    .join('${sockets}')
    .split(PORT)
    .join('${ssh_port}');
}

/** One shell word, bare when nothing in it is special, else in double quotes where only the stand-ins expand. */
function quoteWord(w: string): string {
  if (/^[\w@%+=:,./-]+$/.test(w)) return w;
  return `"${w.replace(/[\\"$`]/g, '\\$&')}"`;
}
