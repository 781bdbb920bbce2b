#pragma once

#include <QList>
#include <QString>
#include <QStringList>

namespace Swamp {

// A plain-text table with aligned columns, as the CLI prints it. The last column is not padded.
class TextTable
{
public:
    explicit TextTable(QStringList headers);

    void addRow(QStringList cells);
    bool isEmpty() const { return m_rows.isEmpty(); }
    QString render() const;

private:
    QStringList m_headers;
    QList<QStringList> m_rows;
};

} // namespace Swamp
