#pragma once

#include "query/ast_p.h"
#include "query/record.h"

#include <QByteArray>
#include <QList>

#include <optional>

namespace Swamp::Query::Internal {

// The tests a scan evaluates on almost every row, answered from the record's columns without
// building query values (issue 20: a scan of 200,000 rows spent half its time there):
// `x <op> literal` (either order; op == != < <= > >=; an int, string or null literal),
// `x in [literals]` and `x.startsWith|endsWith|contains("literal")`, where x is an attribute the
// record reads as a plain int, text or null (`attributes.state`, Record::scalar()) or an entry of
// a map attribute (`attributes.labels.region`, Record::scalarEntry()).
//
// A quick test answers only when its answer is certain to be the evaluator's: anything else (an
// error to report, text that is not ASCII where UTF-8 and UTF-16 could disagree, a record that does
// not read the attribute as a scalar, a step budget about to run out) leaves the node to the
// evaluator, which then answers as it always did. It charges the evaluation steps the evaluator
// would have (every node of the test once, a list's size, a contains() on text its size / 16).
struct QuickTest
{
    enum class Test : quint8 { Compare, In, StartsWith, EndsWith, Contains };
    struct Literal
    {
        Kind kind = Kind::Null; // Null, Int or String
        qint64 integer = 0;
        QString string;  // String
        QByteArray utf8; // String: the literal as UTF-8, read back as the same string
        bool ascii = false;
    };
    // What the test reads: an attribute (Query::attributeId()), or the entry `key` of one.
    struct Source
    {
        int attribute = -1;
        QString key; // null: the attribute itself
    };

    Test test = Test::Compare;
    Op op = Op::None; // Compare: the attribute on the left
    Source source;
    QList<Literal> literals; // one; In: the list
    qint64 cost = 0; // evaluation steps: the nodes of the test, and an `in` list's size
};

// Marks the nodes of a checked tree (constant lists folded) that a quick test can answer.
void addQuickTests(Node &node);

// The answer of `test` on `record`, charging its steps to `steps` when they stay within `budget`;
// nullopt (nothing charged) when the evaluator must answer.
std::optional<bool> quickAnswer(const QuickTest &test, const Record &record, qint64 &steps, qint64 budget);

} // namespace Swamp::Query::Internal
