#include "server/idresolver.h"

#include "common/text.h"
#include "store/store.h"

#include <QJsonArray>

namespace Swamp::IdResolver {

namespace {

constexpr qsizetype MaximumIdLength = 36; // a UUID: 32 hex digits and 4 dashes
constexpr int MatchesShown = 10;

struct Table
{
    Kind kind;
    Store::IdTable table;
    const char *word;
};

constexpr Table Tables[] = {{Step, Store::IdTable::Steps, "step"},
                            {Run, Store::IdTable::Runs, "run"},
                            {Lease, Store::IdTable::Leases, "lease"}};

QString kindWords(int kinds)
{
    QStringList words;
    for (const Table &table : Tables) {
        if (kinds & table.kind)
            words << QLatin1String(table.word);
    }
    return words.join(QStringLiteral(" or "));
}

struct Match
{
    QString id;
    Kind kind;
};

Result<QList<Match>> matchingAll(Store &store, const QString &typed, int kinds, bool ending)
{
    QList<Match> matches;
    for (const Table &table : Tables) {
        if (!(kinds & table.kind))
            continue;
        auto ids = store.idsMatching(table.table, typed, ending, MatchesShown + 1);
        if (!ids)
            return fail(ids.error());
        for (const QString &id : std::as_const(*ids))
            matches << Match{id, table.kind};
    }
    return matches;
}

std::unexpected<Error> ambiguous(const QString &typed, const QList<Match> &matches)
{
    QStringList shown;
    QJsonArray all;
    for (const Match &match : matches) {
        const QString word = kindWords(match.kind);
        if (shown.size() < MatchesShown)
            shown << QStringLiteral("%1 %2").arg(word, match.id);
        all << QJsonObject{{QStringLiteral("kind"), word}, {QStringLiteral("id"), match.id}};
    }
    const bool more = matches.size() > MatchesShown;
    Error error = makeError(QStringLiteral("ambiguous_id"),
                            Tr::tr("'%1' matches %2 ids: %3").arg(typed, more ? Tr::tr("more than %1").arg(MatchesShown)
                                                                               : QString::number(matches.size()),
                                                                  shown.join(QStringLiteral(", ")) + (more ? QStringLiteral(", ...") : QString())),
                            Tr::tr("type more characters of the id"));
    error.details.insert(QStringLiteral("matches"), all);
    return std::unexpected(error);
}

std::unexpected<Error> notFound(const QString &shown, int kinds)
{
    return fail(QStringLiteral("not_found"), Tr::tr("no %1 with id '%2'").arg(kindWords(kinds), shown),
                Tr::tr("'swamp run --detach' prints ids; 'swamp data query' lists them"));
}

bool isIdText(const QString &text)
{
    for (const QChar c : text) {
        if (!(c.isDigit() && c.unicode() < 0x80) && !(c >= u'a' && c <= u'f') && c != u'-')
            return false;
    }
    return true;
}

} // namespace

Result<Resolved> resolve(Store &store, const QString &typedId, int kinds)
{
    const QString typed = typedId.trimmed().toLower();
    // What an error repeats of it: escaped, and not 10 000 characters of it.
    const QString shown = printable(characterCount(typed) > 40 ? leftCharacters(typed, 40) + QStringLiteral("...") : typed);
    if (characterCount(typed) < MinimumIdPrefix) {
        return fail(QStringLiteral("invalid_id"),
                    Tr::tr("'%1' is too short to name a %2: type at least %3 characters of its id").arg(shown, kindWords(kinds)).arg(MinimumIdPrefix),
                    Tr::tr("copy the id 'swamp run' printed, or its first or last %1 or more characters").arg(MinimumIdPrefix));
    }
    // Ids are lower-case hex digits and dashes: anything else names none, without a query.
    if (typed.size() > MaximumIdLength || !isIdText(typed))
        return notFound(shown, kinds);
    for (const bool ending : {false, true}) {
        auto matches = matchingAll(store, typed, kinds, ending);
        if (!matches)
            return fail(matches.error());
        if (matches->size() == 1)
            return Resolved{matches->first().id, matches->first().kind};
        if (matches->size() > 1)
            return ambiguous(shown, *matches);
    }
    return notFound(shown, kinds);
}

} // namespace Swamp::IdResolver
