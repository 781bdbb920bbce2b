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
// A line added to every later usageError() ("note: /etc/swamp/swamp.ini set listen, ...").
void setUsageNote(const QString &note);
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

// The options of the long-running commands (serve, worker connect): --config, --log-level, -q, -v.
void addConfigOptions(QCommandLineParser &parser);

// One setting a config file may hold, and what outranks the file's value of it: the flags of any
// of its keys on the command line, and its environment variables when set and not empty.
struct ConfigSetting
{
    QStringList keys;        // {"token", "token-file"}: one setting, several ways to give it
    QStringList environment; // {"SWAMP_WORKER_TOKEN", "SWAMP_WORKER_TOKEN_FILE"}
    bool repeatable = false; // one flag per value (label); else one flag, the values joined by ','
    bool positional = false; // the key stands for the positional arguments (worker connect's url)
};

// After parse(): reads the file of --config (or SWAMP_CONFIG) and parses `arguments` again with
// the file's value of every setting that neither the command line nor the environment gives
// (keys not in `settings` are settings of their own flag), then sets the log level (-q, -v,
// --log-level, SWAMP_LOG_LEVEL or the file). On a mistake prints it, sets `exitCode` and
// returns false. Later usage errors name the keys the file set.
bool applyConfigFile(QCommandLineParser &parser, const QStringList &arguments,
                     const QString &command, const QList<ConfigSetting> &settings, int *exitCode);

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
