#pragma once

#include "query/schema.h"
#include "query/value_p.h"

#include <QRegularExpression>
#include <QString>

#include <memory>
#include <vector>

namespace Swamp::Query::Internal {

struct QuickTest; // quick_p.h

enum class NodeKind {
    Literal,       // value
    Identifier,    // name; resolved by the checker into a record field, `now` or a variable
    Select,        // children[0].name
    Index,         // children[0][children[1]]
    Call,          // name(children...) or children[0].name(children[1...]) when isMethod
    Has,           // has(children[0]) where children[0] is a Select
    Comprehension, // children[0].name(variable, children[1] [, children[2]])
    ListLiteral,   // [children...]
    MapLiteral,    // {children[0]: children[1], ...}
    Unary,         // op children[0]
    Binary,        // children[0] op children[1]
    And,           // children[0] && children[1] && ... (n-ary, CEL error absorption)
    Or,            // children[0] || children[1] || ...
    Conditional,   // children[0] ? children[1] : children[2]
};

enum class Op {
    None,
    Not,
    Negate,
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    In
};
QString opSpelling(Op op);

// How an identifier was resolved by the checker.
enum class Binding { Unresolved, RecordField, Now, Variable };

struct Node
{
    NodeKind kind = NodeKind::Literal;
    qsizetype position = 0; // the spot errors point at: an operator, a field or function name
    qsizetype length = 0;
    qsizetype start = 0; // the whole expression: predicate.mid(start, end - start)
    qsizetype end = 0;
    int height = 1; // 1 + the tallest child
    Op op = Op::None;
    QString name;
    Value literal;
    std::vector<std::unique_ptr<Node>> children;
    bool isMethod = false;

    // Filled by the checker.
    Binding binding = Binding::Unresolved;
    int slot = -1; // variable slot (Identifier) or the comprehension's variable
    FieldType fieldType = FieldType::Any; // how to read a record field (timestamps are strings)
    Kind staticKind = Kind::Dyn;
    std::shared_ptr<const QRegularExpression> regex; // matches() with a literal pattern
    QList<qsizetype> overloads; // Call: indexes into overloads() that may apply
    // Set after the checks (addQuickTests()): the node's answer from a record's columns.
    std::shared_ptr<const QuickTest> quick;
};

} // namespace Swamp::Query::Internal
