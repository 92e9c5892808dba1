// Real database servers for the State tests and the bench: a PostgreSQL cluster made by
// initdb in a temporary folder and a redis-server, each on a free loopback port, started
// by the process that needs them and stopped by it (scripts/install-servers.sh installs
// Debian's packages). Never a mock: a test that needs a server that cannot start fails
// with the reason.
//
// initdb and postgres refuse to run as root (the tests and CI are root): they run as the
// `postgres` user Debian's package makes, through setpriv (which execs, so the child's pid
// is the server's own, for SIGKILL and restarts), in a folder that user owns. A reaper
// process (sh) watches this process and, should it die without stopping them (SIGKILL, a
// crash), kills the servers and removes their folders.
import { execFileSync, spawn } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A free TCP port on 127.0.0.1 (free when asked; the server binds it right after). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Resolves once something accepts connections on the port (or rejects after `timeout`). */
async function listening(port, timeout, why) {
  const deadline = Date.now() + timeout
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => (socket.destroy(), resolve(true)))
      socket.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`${why()}: nothing listened on 127.0.0.1:${port} within ${timeout} ms`)
    await sleep(50)
  }
}

function postgresBin() {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : []
  if (versions.length === 0) {
    throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/install-servers.sh')
  }
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0], 'bin')
}

function userIds(name) {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' })),
      gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' })),
    }
  } catch {
    throw new Error(`there is no '${name}' user to run PostgreSQL as (Debian's postgresql package makes it): run scripts/install-servers.sh`)
  }
}

// Kills `pids()` and removes `folder` if this process dies first.
function reaper(folder, pidFile) {
  const script = `
    while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
    if [ -f "${pidFile}" ]; then for pid in $(cat "${pidFile}"); do kill -QUIT "$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; done; fi
    sleep 1; rm -rf "${folder}"`
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' })
  child.unref()
  return child
}

class Server {
  constructor(name, folder) {
    this.name = name
    this.folder = folder
    this.pidFile = join(folder, 'reaper.pids')
    this.child = null
    this.log = ''
    this.reaper = reaper(folder, this.pidFile)
  }

  launch(command, args, options = {}) {
    this.log = ''
    // The servers are this system's programs: a library path this process runs with is not
    // theirs (scripts/cross.sh gives a musl Node Alpine's libgcc_s that way, which Debian's
    // redis-server would then load).
    const { LD_LIBRARY_PATH: _, ...env } = process.env
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...options })
    child.stdout.on('data', (data) => (this.log = (this.log + data).slice(-4000)))
    child.stderr.on('data', (data) => (this.log = (this.log + data).slice(-4000)))
    child.exited = new Promise((resolve) => child.once('exit', resolve))
    child.once('error', (error) => (this.log += `\n${error.message}`))
    this.child = child
    writeFileSync(this.pidFile, String(child.pid))
    return child
  }

  why() {
    return `${this.name} did not start (${this.log.trim().split('\n').slice(-5).join(' | ') || 'no output'})`
  }

  /** SIGKILL, as a crash would (the data stays: `restart()` recovers it). */
  async kill() {
    const child = this.child
    if (!child) return
    child.kill('SIGKILL')
    await child.exited
    this.child = null
  }

  async stop() {
    const child = this.child
    this.child = null
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill(this.stopSignal ?? 'SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await child.exited
      clearTimeout(timer)
    }
    this.reaper.kill('SIGKILL')
    rmSync(this.folder, { recursive: true, force: true })
  }
}

/**
 * Starts a PostgreSQL server: resolves to { url, port, kill(), restart(), stop() }. The
 * cluster trusts local connections (user postgres, database postgres).
 */
export async function startPostgres() {
  const bin = postgresBin()
  const { uid, gid } = userIds('postgres')
  const folder = mkdtempSync(join(tmpdir(), 'pubwiki-pg-'))
  chownSync(folder, uid, gid)
  const server = new Server('postgres', folder)
  const data = join(folder, 'data')
  const asPostgres = ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', '--']
  try {
    execFileSync('setpriv', [...asPostgres, join(bin, 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C'], {
      stdio: 'pipe',
      cwd: folder,
    })
  } catch (error) {
    await server.stop()
    throw new Error(`initdb failed: ${String(error.stderr || error.message).trim()}`, { cause: error })
  }
  const port = await freePort()
  server.stopSignal = 'SIGINT' // fast shutdown
  server.start = async () => {
    // fsync off: a killed server's writes are in the OS's cache and survive it (only a
    // machine crash could lose them, which no test makes).
    server.launch('setpriv', [...asPostgres, join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', folder,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200', '-c', 'shared_buffers=32MB'], { cwd: folder })
    await Promise.race([listening(port, 60_000, () => server.why()), server.child.exited.then(() => {
      throw new Error(server.why())
    })])
  }
  try {
    await server.start()
  } catch (error) {
    await server.stop()
    throw error
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    kill: () => server.kill(),
    /** Starts it again after kill() (crash recovery); retried while the old one's processes go. */
    async restart() {
      const deadline = Date.now() + 30_000
      for (;;) {
        try {
          return await server.start()
        } catch (error) {
          if (Date.now() > deadline) throw error
          await sleep(200)
        }
      }
    },
    stop: () => server.stop(),
  }
}

/**
 * Starts a redis-server: resolves to { url, port, kill(), restart(), stop() }. No
 * persistence unless `persistent` (then an append-only file fsynced at every write, in
 * its temporary folder, so that a SIGKILL loses nothing acknowledged).
 */
export async function startRedis({ persistent = false } = {}) {
  let binary = 'redis-server'
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'pipe' })
  } catch {
    if (existsSync('/usr/bin/redis-server')) binary = '/usr/bin/redis-server'
    else throw new Error('redis-server is not installed: run scripts/install-servers.sh')
  }
  const folder = mkdtempSync(join(tmpdir(), 'pubwiki-redis-'))
  const server = new Server('redis-server', folder)
  const port = await freePort()
  const persistence = persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']
  server.start = async () => {
    server.launch(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', folder,
      '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning'], { cwd: folder })
    await Promise.race([listening(port, 30_000, () => server.why()), server.child.exited.then(() => {
      throw new Error(server.why())
    })])
    // Loading the append-only file: PING answers LOADING until it is done.
    const deadline = Date.now() + 30_000
    while (!(await redisPing(port))) {
      if (Date.now() > deadline) throw new Error(`${server.why()}: it did not answer PING`)
      await sleep(50)
    }
  }
  try {
    await server.start()
  } catch (error) {
    await server.stop()
    throw error
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => server.kill(),
    restart: () => server.start(),
    stop: () => server.stop(),
  }
}

function redisPing(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (data) => {
      reply += data
      if (reply.includes('\r\n')) {
        socket.destroy()
        resolve(reply.startsWith('+PONG'))
      }
    })
    socket.once('error', () => resolve(false))
  })
}

// `node scripts/test-servers.mjs`: starts both, prints their URLs, stops them on Enter
// (for trying things by hand).
if (import.meta.url === `file://${process.argv[1]}`) {
  const [pg, redis] = await Promise.all([startPostgres(), startRedis()])
  console.log(`${pg.url}\n${redis.url}\n(Enter stops them)`)
  process.stdin.once('data', async () => {
    await Promise.all([pg.stop(), redis.stop()])
    process.exit(0)
  })
}
