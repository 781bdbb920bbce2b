#include "query/errors_p.h"

#include <QList>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Swamp::Query::Internal {

Error positionedError(const QString &code, const QString &message, qsizetype position,
                      qsizetype length, const QString &fix)
{
    Error error = makeError(code, message, fix);
    error.details.insert(u"position"_s, position);
    error.details.insert(u"length"_s, std::max<qsizetype>(length, 1));
    return error;
}

static qsizetype editDistance(const QString &a, const QString &b)
{
    // Optimal string alignment: a transposition ("stauts") counts as one edit.
    const qsizetype n = a.size();
    const qsizetype m = b.size();
    QList<QList<qsizetype>> d(n + 1, QList<qsizetype>(m + 1, 0));
    for (qsizetype i = 0; i <= n; ++i)
        d[i][0] = i;
    for (qsizetype j = 0; j <= m; ++j)
        d[0][j] = j;
    for (qsizetype i = 1; i <= n; ++i) {
        for (qsizetype j = 1; j <= m; ++j) {
            const qsizetype cost = a.at(i - 1).toLower() == b.at(j - 1).toLower() ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a.at(i - 1) == b.at(j - 2) && a.at(i - 2) == b.at(j - 1))
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[n][m];
}

QString closestMatch(const QString &word, const QStringList &candidates)
{
    if (word.size() > 64)
        return {};
    QString best;
    qsizetype bestDistance = 0;
    for (const QString &candidate : candidates) {
        const qsizetype distance = editDistance(word, candidate);
        if (best.isEmpty() || distance < bestDistance) {
            best = candidate;
            bestDistance = distance;
        }
    }
    // Close enough to be a typo: at most a third of the word, and at least one character kept.
    const qsizetype allowed = std::max<qsizetype>(1, (word.size() + 2) / 3);
    if (best.isEmpty() || bestDistance > allowed || bestDistance >= word.size())
        return {};
    return best;
}

} // namespace Swamp::Query::Internal
