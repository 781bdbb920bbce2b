#pragma once

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>

namespace Swamp {

// A plain-text table with aligned columns, as the CLI prints it. The last column is not padded.
// Cells often hold text from the wire (a worker's hostname, a step's error): every control
// character in them is shown escaped (text.h), so no cell can split a row, forge a line or steer
// the terminal. Colour is the table's own doing (setColumnColour), never part of a cell.
class TextTable
{
public:
    explicit TextTable(QStringList headers);

    void addRow(QStringList cells);
    bool isEmpty() const { return m_rows.isEmpty(); }
    // Cells of `column` are drawn in colour: `sgrFor(cell)` gives the SGR parameters ("32" is
    // green), or an empty string for none. Widths count the text only. Call it only when colour
    // is wanted (a terminal without NO_COLOR).
    void setColumnColour(int column, std::function<QString(const QString &cell)> sgrFor);
    QString render() const;

private:
    QStringList m_headers;
    QList<QStringList> m_rows;
    QHash<int, std::function<QString(const QString &)>> m_colours;
};

} // namespace Swamp
