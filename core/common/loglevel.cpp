#include "common/loglevel.h"

#include "common/text.h"

#include <QLoggingCategory>

namespace Swamp {

namespace {
LogLevel s_level = LogLevel::Info;
}

QStringList logLevelNames()
{
    return {QStringLiteral("error"), QStringLiteral("warning"), QStringLiteral("info"),
            QStringLiteral("debug")};
}

Result<LogLevel> parseLogLevel(const QString &name)
{
    const qsizetype index = logLevelNames().indexOf(name.trimmed().toLower());
    if (index < 0) {
        return fail(QStringLiteral("invalid_log_level"),
                    Tr::tr("unknown log level \"%1\"").arg(printable(leftCharacters(name, 40))),
                    Tr::tr("use one of %1").arg(logLevelNames().join(QStringLiteral(", "))));
    }
    return LogLevel(index);
}

void setLogLevel(LogLevel level)
{
    s_level = level;
    // The categories default to warning (logging.cpp above): only the other levels need rules.
    switch (level) {
    case LogLevel::Error:
        QLoggingCategory::setFilterRules(QStringLiteral("swamp.*.warning=false"));
        break;
    case LogLevel::Warning:
    case LogLevel::Info:
        QLoggingCategory::setFilterRules(QString());
        break;
    case LogLevel::Debug:
        QLoggingCategory::setFilterRules(QStringLiteral("swamp.*.debug=true\nswamp.*.info=true"));
        break;
    }
}

LogLevel logLevel()
{
    return s_level;
}

bool logs(LogLevel level)
{
    return level <= s_level;
}

} // namespace Swamp
