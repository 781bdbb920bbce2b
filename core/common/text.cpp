#include "common/text.h"

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

} // namespace Swamp
