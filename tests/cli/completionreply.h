#pragma once

// What a shell's completion offered, checked against what a test expects: exactly those words
// (`exact`), or at least them. Empty when it matches, else what the test reports.

#include <QSet>

#include <algorithm>
#include <QString>
#include <QStringList>

namespace SwampTest {

inline QString completionMismatch(const QString &line, const QStringList &reply, const QStringList &expected,
                                  bool exact)
{
    const bool matches = exact ? QSet<QString>(reply.cbegin(), reply.cend()) ==
                                     QSet<QString>(expected.cbegin(), expected.cend())
                               : std::all_of(expected.cbegin(), expected.cend(),
                                             [&](const QString &word) { return reply.contains(word); });
    if (matches)
        return {};
    return QStringLiteral("completing [%1] gave [%2], expected [%3]")
        .arg(line, reply.join(u' '), expected.join(u' '));
}

} // namespace SwampTest
