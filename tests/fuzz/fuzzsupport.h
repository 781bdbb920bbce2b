#pragma once

#include <QByteArray>
#include <QList>

#include <functional>

// What the libFuzzer harnesses of tests/fuzz share.
namespace Swamp::Fuzz {

// Prints "==fuzz== <what>" and aborts: libFuzzer keeps the input as a crash.
[[noreturn]] void finding(const char *what);

// Pumps the event loop until `done()` holds or `timeoutMs` passed; returns done().
bool pumpUntil(const std::function<bool()> &done, int timeoutMs);

// Deletes what was deleteLater()ed: nothing of one input may outlive it.
void deleteLaterNow();

// A QCoreApplication for the harness; swamp's developer logging off and Qt's own messages kept
// to one line each (a fuzzer prints millions otherwise).
void initialize(int *argc, char ***argv);

// The input split at '\n' into at most `maxLines` lines (the rest is dropped).
QList<QByteArray> lines(QByteArrayView input, qsizetype maxLines = 64);

// 127.0.0.1, then a new address of 127/8 for each call: the orchestrator throttles refused
// enrollments per address, and a fuzzer refuses thousands.
quint32 nextSourceAddress();

} // namespace Swamp::Fuzz
