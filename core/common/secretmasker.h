#pragma once

#include <QString>
#include <QStringList>

namespace Swamp {

// Replaces the values of a step's --secret-env in its output with "***", as the output streams:
// a value split across two chunks is still masked, because the end of a chunk that could be the
// start of a value is held back until the next chunk (or flush()). Values shorter than
// MinimumLength are not masked (masking "a" would mask every a of the output);
// docs/operations.md says so, and `swamp run` warns. What a step prints transformed (base64, one
// character a line) is not recognised: the step user is the boundary for that, not the mask.
class SecretMasker
{
public:
    static constexpr qsizetype MinimumLength = 4;
    static inline const QString Mask = QStringLiteral("***");

    explicit SecretMasker(const QStringList &values = {});

    bool isEmpty() const { return m_values.isEmpty(); }
    // The part of `chunk` (after what was held back) that can be shown now, masked.
    QString feed(const QString &chunk);
    // What was held back, masked: the stream ended.
    QString flush();
    // `text` masked as a whole (no stream).
    QString mask(QString text) const;

private:
    QStringList m_values; // longest first, so that a value containing another is masked whole
    qsizetype m_longest = 0;
    QString m_held;
};

} // namespace Swamp
