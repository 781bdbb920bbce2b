// `swamp __complete workers|tokens|steps`: what the completion scripts offer where a command takes
// a worker, token or step, asked of the orchestrator over the normal admin connection.

#include "cli.h"
#include "commands.h"

#include <QJsonArray>

#include <algorithm>

namespace Swamp::Cli {

namespace {

// A completion waits for this at most: it runs while the operator presses Tab.
constexpr int timeoutMs = 2000;
// Steps and runs: the most recent ones (their ids are UUIDv7, so newest sort last).
constexpr qsizetype maxIds = 100;

struct NamesQuery
{
    QString predicate;
    QString select;
};

std::optional<NamesQuery> namesQuery(const QString &kind)
{
    if (kind == u"workers")
        return NamesQuery{QStringLiteral("modelType == \"swamp/worker\""), QStringLiteral("name")};
    if (kind == u"tokens")
        return NamesQuery{
            QStringLiteral(
                "modelType == \"swamp/enrollment-token\" && attributes.state != \"revoked\""),
            QStringLiteral("name")};
    if (kind == u"steps")
        return NamesQuery{QStringLiteral("modelType in [\"swamp/step\", \"swamp/run\"]"),
                          QStringLiteral("id")};
    return std::nullopt;
}

void discardMessages(QtMsgType, const QMessageLogContext &, const QString &) {}

} // namespace

int runCompleteNames(const QStringList &arguments)
{
    // Whatever goes wrong, the operator's command line is not the place to say so.
    qInstallMessageHandler(discardMessages);
    QCommandLineParser parser;
    addAdminOptions(parser);
    QStringList argv = arguments;
    argv.prepend(QStringLiteral("swamp __complete"));
    if (!parser.parse(argv) || parser.positionalArguments().size() != 1)
        return ExitOk;
    const QString kind = parser.positionalArguments().first();
    const std::optional<NamesQuery> query = namesQuery(kind);
    auto endpoint = adminEndpoint(parser);
    if (!query || !endpoint)
        return ExitOk;
    AdminClient client(*endpoint);
    auto result = client.call(QStringLiteral("data.query"),
                              {{QStringLiteral("predicate"), query->predicate},
                               {QStringLiteral("select"), query->select}},
                              timeoutMs);
    if (!result)
        return ExitOk;
    QStringList names;
    for (const QJsonValue &value : result->value(QStringLiteral("results")).toArray()) {
        const QString name = value.toString();
        if (!name.isEmpty())
            names.append(name);
    }
    names.sort();
    names.removeDuplicates();
    if (kind == u"steps" && names.size() > maxIds)
        names = names.mid(names.size() - maxIds);
    if (!names.isEmpty())
        out(names.join(u'\n'));
    return ExitOk;
}

} // namespace Swamp::Cli
