#include "cli.h"

#include "query/answer.h"
#include "query/render.h"

#include <QJsonArray>

namespace Swamp::Cli {

int runDataQuery(const QStringList &arguments)
{
    const QString command = QStringLiteral("data query");
    QCommandLineParser parser;
    addAdminOptions(parser);
    parser.addPositionalArgument(QStringLiteral("predicate"), QStringLiteral("A CEL predicate (docs/query.md)."));
    parser.addOptions({
        {QStringLiteral("select"), QStringLiteral("Project each result with this expression."), QStringLiteral("expr")},
        {QStringLiteral("limit"), QStringLiteral("At most N results."), QStringLiteral("N")},
    });
    int exitCode = 0;
    if (!parse(parser, arguments, command, QStringLiteral("Query the orchestrator's records."),
               QStringLiteral("  swamp data query 'modelType == \"swamp/worker\"'\n"
                              "  swamp data query 'modelType == \"swamp/worker\" && attributes.status == \"idle\"' --select 'name'\n"
                              "  swamp data query 'modelType == \"swamp/step-lease\" && attributes.state == \"active\"' --json\n"),
               &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    if (parser.positionalArguments().size() != 1)
        return usageError(QStringLiteral("pass one predicate in quotes, e.g. 'modelType == \"swamp/worker\"'"), command);
    const QString predicate = parser.positionalArguments().first();
    QJsonObject params{{QStringLiteral("predicate"), predicate}};
    if (parser.isSet(QStringLiteral("select")))
        params.insert(QStringLiteral("select"), parser.value(QStringLiteral("select")));
    else
        params.insert(QStringLiteral("rows"), true); // half the bytes to send; rebuilt into records below
    if (parser.isSet(QStringLiteral("limit"))) {
        bool ok = false;
        const qint64 limit = parser.value(QStringLiteral("limit")).toLongLong(&ok);
        if (!ok || limit < 0)
            return usageError(QStringLiteral("--limit must be a whole number of at least 0"), command);
        params.insert(QStringLiteral("limit"), limit);
    }
    const auto result = Query::answerWithRecords(adminCall(parser, QStringLiteral("data.query"), params));
    if (!result) {
        const Error &error = result.error();
        if (error.code.startsWith(u"query_") && !json) {
            const bool inSelect = error.details.value(QStringLiteral("in")).toString() == u"select";
            err(Query::renderError(error, inSelect ? parser.value(QStringLiteral("select")) : predicate));
            return ExitUsage;
        }
        return failure(error, json);
    }
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    const QJsonArray results = result->value(QStringLiteral("results")).toArray();
    const qint64 total = result->value(QStringLiteral("total")).toInteger();
    if (results.isEmpty()) {
        out(total > 0 ? QStringLiteral("%1 record(s) match; --limit 0 printed none.").arg(total)
                      : QStringLiteral("No records match. Start from 'modelType == \"swamp/worker\"' and narrow it down; docs/query.md lists every field."));
        return ExitOk;
    }
    out(parser.isSet(QStringLiteral("select")) ? Query::renderSelection(results) : Query::renderRecords(results));
    if (result->value(QStringLiteral("limited")).toBool())
        err(QStringLiteral("(showing %1 of %2; raise --limit to see more)").arg(results.size()).arg(total));
    return ExitOk;
}

} // namespace Swamp::Cli
