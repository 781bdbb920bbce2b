#pragma once

#include "common/result.h"

#include <QStringList>

namespace Swamp {

// How much a long-running command (`serve`, `worker connect`) prints, least first. Info is the
// default: operator events and warnings, and the swamp.* logging categories (logging.h) at
// warning and above.
enum class LogLevel { Error, Warning, Info, Debug };

// "error", "warning", "info", "debug": the names --log-level takes, in that order.
QStringList logLevelNames();
// One of logLevelNames(); error code "invalid_log_level" naming the valid ones.
Result<LogLevel> parseLogLevel(const QString &name);

// Sets the level of this process: what logs() answers, and QLoggingCategory filter rules for the
// swamp.* categories (Error: critical only; Warning and Info: warning and above, as without
// rules; Debug: everything). QT_LOGGING_RULES, applied after these rules, still wins for the
// categories it names.
void setLogLevel(LogLevel level);
LogLevel logLevel();
// Whether a line of `level` is printed at the current level.
bool logs(LogLevel level);

} // namespace Swamp
