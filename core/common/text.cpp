#include "common/text.h"

#include <QList>

#include <algorithm>

namespace Swamp {

bool isUnsafeCharacter(char32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e)
           || (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f || c == 0x061c;
}

bool hasUnsafeCharacters(QStringView text)
{
    for (QChar c : text) {
        if (isUnsafeCharacter(c.unicode()))
            return true;
    }
    return false;
}

QString printable(const QString &text)
{
    if (!hasUnsafeCharacters(text))
        return text;
    QString out;
    out.reserve(text.size() + 16);
    for (QChar c : text) {
        const char16_t u = c.unicode();
        if (!isUnsafeCharacter(u)) {
            out += c;
            continue;
        }
        switch (u) {
        case u'\n': out += QLatin1String("\\n"); break;
        case u'\r': out += QLatin1String("\\r"); break;
        case u'\t': out += QLatin1String("\\t"); break;
        case 0x1b: out += QLatin1String("\\e"); break;
        default:
            out += u < 0x100 ? QStringLiteral("\\x%1").arg(uint(u), 2, 16, QChar(u'0'))
                             : QStringLiteral("\\u%1").arg(uint(u), 4, 16, QChar(u'0'));
        }
    }
    return out;
}

qsizetype characterCount(QStringView text)
{
    qsizetype count = 0;
    for (qsizetype i = 0; i < text.size(); ++i, ++count) {
        if (text.at(i).isHighSurrogate() && i + 1 < text.size() && text.at(i + 1).isLowSurrogate())
            ++i;
    }
    return count;
}

QString leftCharacters(const QString &text, qsizetype count)
{
    qsizetype units = 0;
    for (qsizetype taken = 0; taken < count && units < text.size(); ++taken) {
        if (text.at(units).isHighSurrogate() && units + 1 < text.size() && text.at(units + 1).isLowSurrogate())
            ++units;
        ++units;
    }
    return text.left(units);
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

namespace {

// East Asian Wide (W) and Fullwidth (F) ranges, simplified: what terminals draw two columns wide.
bool isWide(char32_t c)
{
    return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF && c != 0x303F)
        || (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F)
        || (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) || (c >= 0x1F680 && c <= 0x1F6FF)
        || (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD);
}

// The length of the ANSI CSI sequence at `i` (ESC [ parameters intermediates final), 0 if none.
qsizetype csiLength(QStringView text, qsizetype i)
{
    if (text.at(i) != u'\x1b' || i + 1 >= text.size() || text.at(i + 1) != u'[')
        return 0;
    for (qsizetype j = i + 2; j < text.size(); ++j) {
        const char16_t c = text.at(j).unicode();
        if (c >= 0x40 && c <= 0x7E)
            return j - i + 1;
        if (c < 0x20 || c > 0x3F)
            return 0;
    }
    return 0;
}

} // namespace

qsizetype terminalColumns(QStringView text)
{
    qsizetype columns = 0;
    for (qsizetype i = 0; i < text.size();) {
        if (const qsizetype csi = csiLength(text, i)) {
            i += csi;
            continue;
        }
        char32_t c = text.at(i).unicode();
        qsizetype units = 1;
        if (text.at(i).isHighSurrogate() && i + 1 < text.size() && text.at(i + 1).isLowSurrogate()) {
            c = QChar::surrogateToUcs4(text.at(i), text.at(i + 1));
            units = 2;
        }
        const auto category = QChar::category(c);
        if (category != QChar::Mark_NonSpacing && category != QChar::Mark_Enclosing)
            columns += isWide(c) ? 2 : 1;
        i += units;
    }
    return columns;
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

} // namespace Swamp
