#include "common/secretmasker.h"

#include <algorithm>

namespace Swamp {

SecretMasker::SecretMasker(const QStringList &values)
{
    for (const QString &value : values) {
        if (value.size() >= MinimumLength && !m_values.contains(value))
            m_values << value;
    }
    std::sort(m_values.begin(), m_values.end(), [](const QString &a, const QString &b) { return a.size() > b.size(); });
    m_longest = m_values.isEmpty() ? 0 : m_values.first().size();
}

QString SecretMasker::mask(QString text) const
{
    for (const QString &value : m_values)
        text.replace(value, Mask);
    return text;
}

QString SecretMasker::feed(const QString &chunk)
{
    if (m_values.isEmpty())
        return chunk;
    const QString text = mask(m_held + chunk);
    // Hold back the longest end of the text that is the beginning of a value: the rest of the
    // value may come with the next chunk.
    qsizetype hold = 0;
    for (qsizetype length = std::min(text.size(), m_longest - 1); length > 0 && hold == 0; --length) {
        const QStringView end = QStringView(text).right(length);
        for (const QString &value : m_values) {
            if (value.size() > length && QStringView(value).startsWith(end)) {
                hold = length;
                break;
            }
        }
    }
    m_held = text.right(hold);
    return text.left(text.size() - hold);
}

QString SecretMasker::flush()
{
    return std::exchange(m_held, QString()); // held text is no value's whole: nothing to mask
}

} // namespace Swamp
