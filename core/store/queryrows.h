#pragma once

#include "model/step.h"
#include "query/predicate.h"
#include "query/record.h"

#include <QString>

namespace Swamp {

namespace Internal {
class RowColumns;
class TextCache;
} // namespace Internal

// The swamp/step record of `data query` (docs/query.md) over its row, as Store::forEachStepRow()
// hands it out: each field is read from its column when the predicate asks for it, and step()
// reads the whole record (for a match). It answers as StepRecord::toJson() of step() would.
// Valid during the visit only.
class StepRow final : public Query::Record
{
public:
    StepRow(const Internal::RowColumns &columns, Internal::TextCache &texts)
        : m_columns(columns)
        , m_texts(texts)
    {
    }

    // The columns (rows_p.h's StepColumn) a scan's keep() reads of every row for a query that
    // reads `reads`: those and the state (isOpen()); empty: all. A row it keeps is read whole.
    static QList<int> columnsFor(const std::optional<Query::FieldsRead> &reads);

    QString id() const;
    // Whether its state is queued, dispatched or running.
    bool isOpen() const;
    // Where its record goes in the results: by created at, then seq.
    qint64 createdAtMs() const;
    int seq() const;
    StepRecord step() const;
    // The step as its JSON shows it (toJson(), toJsonText()): step() but its environment, which
    // is not read.
    StepRecord forJson() const;
    // Appends the row's swamp/step record as data.query's results show it (its whole row, read
    // from the columns): the text QueryService writes of forJson(), without building it.
    void appendRecordText(QByteArray &out) const;
    // The same record as a row of data.query's rows form (protocol.md): `[table, value, ...]`, the
    // values of its attributes in the order tableText() names them, times as milliseconds.
    void appendRowText(QByteArray &out, int table) const;
    // The table of those rows: `{"modelType", "name", "attributes", "times"}` (protocol.md).
    static QByteArray tableText();
    // Whether every row Store::forEachStepRow() gives for the attribute equality
    // `attributes.<attribute> == literal` holds it as the row reads it (the scan decided it in
    // SQL): a predicate need not test it again (Query::Predicate::knowingTrue()).
    static bool holdsEquality(const QString &attribute, const QJsonValue &literal);

    QVariant field(const QString &name) const override;
    QVariant attribute(const QString &name) const override;
    QStringList attributeNames() const override;
    Query::Scalar scalar(int id) const override;
    Query::Scalar scalarEntry(int id, const QString &key) const override;

private:
    const Internal::RowColumns &m_columns;
    Internal::TextCache &m_texts;
};

// The swamp/step-lease record over its row (Store::forEachLeaseRow()), as LeaseRecord::toJson()
// of lease() would answer. Valid during the visit only.
class LeaseRow final : public Query::Record
{
public:
    explicit LeaseRow(const Internal::RowColumns &columns)
        : m_columns(columns)
    {
    }

    // As StepRow::columnsFor() (rows_p.h's LeaseColumn; empty: all).
    static QList<int> columnsFor(const std::optional<Query::FieldsRead> &reads);

    QString id() const;
    qint64 createdAtMs() const; // where its record goes in the results
    LeaseRecord lease() const;
    // As StepRow::appendRecordText(): the swamp/step-lease record of lease(); and its row.
    void appendRecordText(QByteArray &out) const;
    void appendRowText(QByteArray &out, int table) const;
    static QByteArray tableText();
    static bool holdsEquality(const QString &attribute, const QJsonValue &literal); // as StepRow's

    QVariant field(const QString &name) const override;
    QVariant attribute(const QString &name) const override;
    QStringList attributeNames() const override;
    Query::Scalar scalar(int id) const override;

private:
    const Internal::RowColumns &m_columns;
};

} // namespace Swamp
