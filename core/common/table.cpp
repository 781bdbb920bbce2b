#include "common/table.h"

#include "common/text.h"

namespace Swamp {

TextTable::TextTable(QStringList headers)
    : m_headers(std::move(headers))
{
}

void TextTable::addRow(QStringList cells)
{
    while (cells.size() < m_headers.size())
        cells << QString();
    for (QString &cell : cells)
        cell = printable(cell);
    m_rows << cells;
}

void TextTable::setColumnColour(int column, std::function<QString(const QString &)> sgrFor)
{
    m_colours.insert(column, std::move(sgrFor));
}

QString TextTable::render() const
{
    QList<qsizetype> widths;
    // Widths count what the terminal shows (terminalColumns()), not UTF-16 units: escape
    // sequences take no column, a CJK character two.
    for (const QString &header : m_headers)
        widths << terminalColumns(header);
    for (const QStringList &row : m_rows) {
        for (qsizetype i = 0; i < widths.size(); ++i)
            widths[i] = std::max(widths[i], terminalColumns(row.value(i)));
    }
    QString out;
    const auto appendLine = [&](const QStringList &cells, bool colour) {
        QString line;
        for (qsizetype i = 0; i < widths.size(); ++i) {
            const QString &cell = cells.value(i);
            const bool last = i + 1 == widths.size();
            const QString padding = last ? QString() : QString(widths[i] - terminalColumns(cell) + 2, u' ');
            const auto style = m_colours.constFind(int(i));
            const QString sgr = colour && style != m_colours.cend() ? (*style)(cell) : QString();
            if (sgr.isEmpty())
                line += cell + padding;
            else
                line += QStringLiteral("\x1b[%1m%2\x1b[0m").arg(sgr, cell) + padding;
        }
        // Without the padding the last cells leave; a line of nothing but blanks stays as it is.
        // (A regular expression here was compiled once a line: 40 % of printing 95,000 records.)
        qsizetype end = line.size();
        while (end > 0 && line.at(end - 1).isSpace())
            --end;
        out += end == 0 ? QStringView(line) : QStringView(line).first(end);
        out += u'\n';
    };
    appendLine(m_headers, false);
    for (const QStringList &row : m_rows)
        appendLine(row, true);
    return out;
}

} // namespace Swamp
