#pragma once

#include "client/adminclient.h"
#include "common/labels.h"
#include "common/result.h"
#include "common/table.h"

#include <QCommandLineParser>
#include <QJsonObject>
#include <QStringList>

// The `swamp` command line: parsing and printing only; behaviour lives in core/.
namespace Swamp::Cli {

enum ExitCode { ExitOk = 0, ExitFailed = 1, ExitUsage = 2 };

void out(const QString &text);   // stdout, flushed, newline added when missing
void err(const QString &text);   // stderr, flushed
void printJson(const QJsonValue &value);
void printJsonLine(const QJsonObject &object); // one compact line of NDJSON
int usageError(const QString &message, const QString &command);
int failure(const Error &error, bool json);
bool colourEnabled();
// A state or status in its colour on a terminal (never with NO_COLOR), escaped (text.h).
QString colourStatus(const QString &status);
// The SGR colour of a state or status ("32"), empty for none.
QString statusColour(const QString &status);
// Colours a table column of states or statuses, when colour is on.
void colourStatusColumn(TextTable &table, int column);

// Common admin flags: --server, --admin-token, --admin-token-file, --ca-cert, --json.
void addAdminOptions(QCommandLineParser &parser);
Result<AdminEndpoint> adminEndpoint(const QCommandLineParser &parser);
// Runs one admin request and returns the result or prints the failure.
Result<QJsonObject> adminCall(const QCommandLineParser &parser, const QString &method,
                              const QJsonObject &params = {});

// Parses argv of a subcommand; on --help prints it and returns ExitOk via `exitCode`.
bool parse(QCommandLineParser &parser, const QStringList &arguments, const QString &command,
           const QString &description, const QString &examples, int *exitCode);

int runServe(const QStringList &arguments);
int runBackup(const QStringList &arguments);
int runWorkerConnect(const QStringList &arguments);
int runWorkerList(const QStringList &arguments);
int runTokenCreate(const QStringList &arguments);
int runTokenList(const QStringList &arguments);
int runTokenRevoke(const QStringList &arguments);
int runTokenExtend(const QStringList &arguments);
int runDataQuery(const QStringList &arguments);
int runVersion(const QStringList &arguments);
int runRun(const QStringList &arguments);
int runRunStatus(const QStringList &arguments);
int runRunLogs(const QStringList &arguments);
int runRunCancel(const QStringList &arguments);
int runWorkerQueue(const QStringList &arguments);
int runWorkerDrain(const QStringList &arguments, bool drain);
int runWorkerPrune(const QStringList &arguments);
int runWorkerShow(const QStringList &arguments); // workeradmin.cpp
int runWorkerPause(const QStringList &arguments, bool pause);
int runWorkerLabel(const QStringList &arguments);
int runWorkerRemove(const QStringList &arguments);
// `--label k=v` arguments (repeatable, or k=v,k=v) of an admin command: a key given twice with
// different values, or (with `valuesRequired`) `k=`, is a mistake. Errors name the argument;
// `option` is how the fix writes one ("--label " or, for positional labels, "").
Result<Labels> parseLabelArguments(const QStringList &items, bool valuesRequired,
                                   const QString &option = QStringLiteral("--label "));

} // namespace Swamp::Cli
