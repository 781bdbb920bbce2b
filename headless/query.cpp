#include "cli.h"

namespace Swamp::Cli {

int runDataQuery(const QStringList &arguments)
{
    QCommandLineParser parser;
    addAdminOptions(parser);
    int exitCode = 0;
    if (!parse(parser, arguments, QStringLiteral("data query"), QStringLiteral("Query the orchestrator's records."),
               QString(), &exitCode))
        return exitCode;
    auto result = adminCall(parser, QStringLiteral("data.query"), {});
    if (!result)
        return failure(result.error(), parser.isSet(QStringLiteral("json")));
    return ExitOk;
}

} // namespace Swamp::Cli
