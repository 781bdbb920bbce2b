'use strict';
// The graphile-worker process of bench/peers/graphile: one worker pool (graphile-worker's `run`)
// with `concurrency` jobs at a time, and one task, `noop`, that records when it started. Started
// by driver.js with fork(); it reports over the IPC channel, never through the database:
//   -> {type: 'ready'}                         the pool listens for new jobs
//   -> {type: 'events', starts, completes, failures}
//                                              [id, t, id, t, ...], t = process.hrtime in ns
//                                              (CLOCK_MONOTONIC: the driver's clock too)
//   -> {type: 'cpu', ms}                       this process's CPU so far, on {type: 'cpu'}
//   -> {type: 'log', level, message}           graphile-worker's warnings and errors
// and stops on {type: 'stop'} or when the driver goes away.
const { run, Logger } = require('graphile-worker');

const now = () => Number(process.hrtime.bigint());

// Records are sent once per turn of the event loop: a busy pool sends a few large messages, an
// idle one sends each record at once (the idle latency probe waits for it).
let starts = [];
let completes = [];
let failures = [];
let flushing = false;

function flush() {
    flushing = false;
    process.send({ type: 'events', starts, completes, failures });
    starts = [];
    completes = [];
    failures = [];
}

function record(list, id) {
    list.push(id, now());
    if (!flushing) {
        flushing = true;
        setImmediate(flush);
    }
}

// Info lines ("Completed task ...") would cost a console write per job: only warnings and errors,
// to the driver, which counts them.
const logger = new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning')
        process.send({ type: 'log', level, message });
});

async function start({ url, concurrency }) {
    const { EventEmitter } = require('events');
    const events = new EventEmitter();
    // After the job's row is deleted (completed) or updated for a retry (failed).
    events.on('job:complete', ({ job, error }) => record(error ? failures : completes, job.payload.id));
    events.once('pool:listen:success', () => process.send({ type: 'ready' }));
    const runner = await run({
        connectionString: url,
        concurrency,
        // graphile-worker warns below `concurrency`; the pool's LISTEN connection takes one more.
        maxPoolSize: concurrency + 1,
        noHandleSignals: true,
        logger,
        events,
        taskList: {
            noop: async (payload) => {
                record(starts, payload.id);
            },
        },
    });
    return runner;
}

let runner = null;
process.on('disconnect', () => process.exit(0));
process.on('message', async (message) => {
    try {
        if (message.type === 'start') {
            runner = await start(message);
        } else if (message.type === 'cpu') {
            const usage = process.cpuUsage();
            process.send({ type: 'cpu', ms: (usage.user + usage.system) / 1000 });
        } else if (message.type === 'stop') {
            if (runner)
                await runner.stop();
            process.exit(0);
        }
    } catch (error) {
        process.send({ type: 'log', level: 'error', message: `worker process: ${error.message}` });
        process.exit(1);
    }
});
