#include "common/table.h"

#include <QRegularExpression>

namespace Swamp {

TextTable::TextTable(QStringList headers)
    : m_headers(std::move(headers))
{
}

void TextTable::addRow(QStringList cells)
{
    while (cells.size() < m_headers.size())
        cells << QString();
    m_rows << cells;
}

QString TextTable::render() const
{
    QList<qsizetype> widths;
    for (const QString &header : m_headers)
        widths << header.size();
    for (const QStringList &row : m_rows) {
        for (qsizetype i = 0; i < widths.size(); ++i)
            widths[i] = std::max(widths[i], row.value(i).size());
    }
    QString out;
    const auto appendLine = [&](const QStringList &cells) {
        QString line;
        for (qsizetype i = 0; i < widths.size(); ++i) {
            if (i + 1 == widths.size())
                line += cells.value(i);
            else
                line += cells.value(i).leftJustified(widths[i]) + QStringLiteral("  ");
        }
        out += line.trimmed().isEmpty() ? line : line.remove(QRegularExpression(QStringLiteral("\\s+$")));
        out += u'\n';
    };
    appendLine(m_headers);
    for (const QStringList &row : m_rows)
        appendLine(row);
    return out;
}

} // namespace Swamp
