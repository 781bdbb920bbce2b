'use strict';
// The parts of driver.js that are not the workload: its options, the clocks and CPU readings,
// what the worker process reported (Tracker) and the worker process itself (WorkerProcess).
const { fork } = require('child_process');
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');

const now = () => Number(process.hrtime.bigint());
const TIMEOUT_MS = 600000;

function usage(message) {
    process.stderr.write(`graphile: ${message}\n` +
        'usage: graphile.sh URL [--workers 100] [--jobs 20000] [--batch 1000] [--inflight 24] [--probe 1000]\n' +
        '                   [--json FILE] [--pg-pid PID] [--keep]\n');
    process.exit(2);
}

function parseOptions() {
    let parsed;
    try {
        parsed = parseArgs({
            allowPositionals: true,
            options: {
                workers: { type: 'string', default: '100' }, jobs: { type: 'string', default: '20000' },
                batch: { type: 'string', default: '1000' }, inflight: { type: 'string', default: '24' },
                probe: { type: 'string', default: '1000' }, json: { type: 'string' },
                'pg-pid': { type: 'string' }, keep: { type: 'boolean', default: false },
            },
        });
    } catch (error) {
        usage(error.message.split('\n')[0]);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1)
        usage('give one PostgreSQL URL (postgresql://ROLE@HOST:PORT/DATABASE, a role with CREATEDB)');
    const options = { url: positionals[0], json: values.json, keep: values.keep };
    for (const key of ['workers', 'jobs', 'batch', 'inflight', 'probe']) {
        options[key] = Number(values[key]);
        if (!Number.isInteger(options[key]) || options[key] < 1)
            usage(`--${key} takes a positive whole number, not '${values[key]}'`);
    }
    options.pgPid = values['pg-pid'] === undefined ? null : Number(values['pg-pid']);
    if (options.pgPid !== null && !(Number.isInteger(options.pgPid) && fs.existsSync(`/proc/${options.pgPid}/stat`)))
        usage(`--pg-pid takes the pid of the PostgreSQL server's postmaster on this machine, not '${values['pg-pid']}'`);
    let url;
    try {
        url = new URL(options.url);
    } catch {
        usage(`'${options.url}' is not a URL`);
    }
    if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:')
        usage('the URL must start with postgresql://');
    if (url.password)
        usage('the URL holds a password: put it in PGPASSWORD or ~/.pgpass instead (a command line is visible in ps)');
    return options;
}

// CPU of a PostgreSQL server (ms): its postmaster, with the backends it reaped, and those alive.
function postgresCpuMs(pid) {
    if (!pid)
        return null;
    const ticks = 100; // sysconf(_SC_CLK_TCK) on Linux
    let sum = 0;
    for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry))
            continue;
        let text;
        try {
            text = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        } catch {
            continue; // ended meanwhile
        }
        const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
        if (Number(entry) === pid)
            sum += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
        else if (Number(f[1]) === pid)
            sum += Number(f[11]) + Number(f[12]);
    }
    return sum * 1000 / ticks;
}

function latency(samplesNs) {
    const sorted = Float64Array.from(samplesNs).sort();
    const pct = (p) => sorted.length ? sorted[Math.max(1, Math.ceil(p / 100 * sorted.length)) - 1] / 1e6 : -1;
    return { p50Ms: pct(50), p99Ms: pct(99), p999Ms: pct(99.9), samples: sorted.length };
}

// What the worker process reported, by job id; resolves waits on it.
class Tracker {
    constructor(total) {
        this.addAt = new Float64Array(total);
        this.startAt = new Float64Array(total);
        this.doneAt = new Float64Array(total);
        this.starts = new Uint16Array(total);
        this.dones = new Uint16Array(total);
        this.failures = 0;
        this.done = 0;
        this.waiters = [];
    }

    report({ starts, completes, failures }) {
        for (let i = 0; i < starts.length; i += 2) {
            this.startAt[starts[i]] = starts[i + 1];
            this.starts[starts[i]]++;
        }
        for (let i = 0; i < completes.length; i += 2) {
            this.doneAt[completes[i]] = completes[i + 1];
            this.dones[completes[i]]++;
            this.done++;
        }
        this.failures += failures.length / 2;
        this.waiters = this.waiters.filter((w) => !w.check());
    }

    finished() {
        return this.done + this.failures;
    }

    // Resolves once `count` jobs are finished (done or failed) in all.
    until(count, what) {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => this.fail(new Error(`timed out after ${TIMEOUT_MS / 1000} s waiting for ${what}`)),
                TIMEOUT_MS);
            const waiter = {
                check: () => {
                    if (this.finished() < count)
                        return false;
                    clearTimeout(timer);
                    resolve();
                    return true;
                },
                fail: (error) => {
                    clearTimeout(timer);
                    reject(error);
                },
            };
            if (!waiter.check())
                this.waiters.push(waiter);
        });
    }

    // Ends every wait with `error` (the worker process died).
    fail(error) {
        const waiters = this.waiters;
        this.waiters = [];
        for (const waiter of waiters)
            waiter.fail(error);
    }
}

class WorkerProcess {
    constructor(tracker) {
        this.logs = [];
        this.replies = [];
        this.child = fork(path.join(__dirname, 'worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        this.ready = new Promise((resolve, reject) => {
            this.child.on('message', (m) => {
                if (m.type === 'ready')
                    resolve();
                else if (m.type === 'events')
                    tracker.report(m);
                else if (m.type === 'log')
                    this.log(m);
                else if (m.type === 'cpu')
                    this.replies.shift()(m.ms);
            });
            this.child.on('exit', (code, signal) => {
                const error = new Error(`the worker process exited (${signal || code}): ${this.logs.slice(-1)[0] || 'no message'}`);
                reject(error);
                tracker.fail(error);
                for (const reply of this.replies.splice(0))
                    reply(NaN);
            });
        });
        this.ready.catch(() => {}); // awaited by start(); a crash before then is reported there
    }

    log({ level, message }) {
        this.logs.push(`${level}: ${message}`);
        if (this.logs.length <= 5)
            process.stderr.write(`graphile-worker ${level}: ${message}\n`);
    }

    start(url, concurrency) {
        this.child.send({ type: 'start', url, concurrency });
        return this.ready;
    }

    cpuMs() {
        return new Promise((resolve) => {
            this.replies.push(resolve);
            this.child.send({ type: 'cpu' });
        });
    }

    stop() {
        if (!this.child.connected)
            return Promise.resolve();
        return new Promise((resolve) => {
            this.child.removeAllListeners('exit');
            this.child.on('exit', resolve);
            this.child.send({ type: 'stop' });
        });
    }
}

module.exports = { parseOptions, postgresCpuMs, latency, Tracker, WorkerProcess, now };
