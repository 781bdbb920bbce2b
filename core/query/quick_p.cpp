#include "query/quick_p.h"

#include <QByteArrayView>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Swamp::Query::Internal {

namespace {

using Literal = QuickTest::Literal;

// The nodes the evaluator visits to answer `node` (each once here: no macros, no conditionals).
qint64 evaluatedNodes(const Node &node)
{
    if (node.kind == NodeKind::Literal)
        return 1; // a folded list too: its elements are not visited
    qint64 nodes = 1;
    for (const auto &child : node.children)
        nodes += evaluatedNodes(*child);
    return nodes;
}

bool isAscii(QByteArrayView utf8)
{
    return std::all_of(utf8.begin(), utf8.end(), [](char c) { return (uchar(c) & 0x80) == 0; });
}

bool isAttributes(const Node &node)
{
    return node.kind == NodeKind::Identifier && node.binding == Binding::RecordField && node.name == "attributes"_L1;
}

// The name `node` selects of `target`: `target.name` or `target["name"]`; null for anything else.
QString selectedName(const Node &node, bool (*target)(const Node &))
{
    if (node.kind == NodeKind::Select && node.children.size() == 1 && target(*node.children[0]))
        return node.name;
    if (node.kind == NodeKind::Index && node.children.size() == 2 && target(*node.children[0])
        && node.children[1]->kind == NodeKind::Literal && node.children[1]->literal.kind() == Kind::String)
        return node.children[1]->literal.string();
    return {};
}

bool isMapAttribute(const Node &node)
{
    return !selectedName(node, isAttributes).isNull() && node.fieldType == FieldType::Map;
}

// `attributes.x` (the record's attribute x) or `attributes.m.key` (the entry key of its map
// attribute m), as the quick tests read it; not a field the evaluator reads as a timestamp, a
// duration or a double. Attributes of the built-in schema only (attributeId()).
QuickTest::Source sourceOf(const Node &node)
{
    if (node.fieldType != FieldType::String && node.fieldType != FieldType::Int && node.fieldType != FieldType::Any)
        return {};
    if (const QString name = selectedName(node, isAttributes); !name.isNull())
        return {attributeId(name), {}};
    if (const QString key = selectedName(node, isMapAttribute); !key.isNull())
        return {attributeId(selectedName(*node.children[0], isAttributes)), key};
    return {};
}

std::optional<Literal> literalOf(const Value &value)
{
    Literal literal;
    literal.kind = value.kind();
    switch (literal.kind) {
    case Kind::Null:
        return literal;
    case Kind::Int:
        literal.integer = value.integer();
        return literal;
    case Kind::String:
        literal.string = value.string();
        literal.utf8 = value.string().toUtf8();
        if (QString::fromUtf8(literal.utf8) != value.string())
            return std::nullopt; // a lone surrogate: its UTF-8 reads back as another string
        literal.ascii = isAscii(literal.utf8);
        return literal;
    default:
        return std::nullopt;
    }
}

std::optional<Literal> literalOf(const Node &node)
{
    if (node.kind != NodeKind::Literal)
        return std::nullopt;
    return literalOf(node.literal);
}

bool isOrdering(Op op)
{
    return op == Op::Less || op == Op::LessEqual || op == Op::Greater || op == Op::GreaterEqual;
}

// a op b turned around: b op' a.
Op mirrored(Op op)
{
    switch (op) {
    case Op::Less:
        return Op::Greater;
    case Op::LessEqual:
        return Op::GreaterEqual;
    case Op::Greater:
        return Op::Less;
    case Op::GreaterEqual:
        return Op::LessEqual;
    default:
        return op;
    }
}

std::shared_ptr<const QuickTest> comparison(const Node &node)
{
    if (node.children.size() != 2 || (node.op != Op::Equal && node.op != Op::NotEqual && !isOrdering(node.op)))
        return {};
    const Node &left = *node.children[0];
    const Node &right = *node.children[1];
    const bool sourceFirst = sourceOf(left).attribute >= 0;
    const QuickTest::Source source = sourceOf(sourceFirst ? left : right);
    const std::optional<Literal> literal = literalOf(sourceFirst ? right : left);
    if (source.attribute < 0 || !literal)
        return {};
    auto test = std::make_shared<QuickTest>();
    test->test = QuickTest::Test::Compare;
    test->op = sourceFirst ? node.op : mirrored(node.op);
    test->source = source;
    test->literals = {*literal};
    test->cost = evaluatedNodes(node);
    return test;
}

std::shared_ptr<const QuickTest> membership(const Node &node)
{
    if (node.children.size() != 2)
        return {};
    const QuickTest::Source source = sourceOf(*node.children[0]);
    const Node &list = *node.children[1];
    if (source.attribute < 0 || list.kind != NodeKind::Literal || list.literal.kind() != Kind::List)
        return {};
    auto test = std::make_shared<QuickTest>();
    test->test = QuickTest::Test::In;
    test->source = source;
    for (const Value &element : list.literal.list()) {
        const std::optional<Literal> literal = literalOf(element);
        if (!literal)
            return {};
        test->literals << *literal;
    }
    test->cost = evaluatedNodes(node) + test->literals.size();
    return test;
}

std::shared_ptr<const QuickTest> method(const Node &node)
{
    if (!node.isMethod || node.children.size() != 2)
        return {};
    QuickTest::Test kind;
    if (node.name == "startsWith"_L1)
        kind = QuickTest::Test::StartsWith;
    else if (node.name == "endsWith"_L1)
        kind = QuickTest::Test::EndsWith;
    else if (node.name == "contains"_L1)
        kind = QuickTest::Test::Contains;
    else
        return {};
    const QuickTest::Source source = sourceOf(*node.children[0]);
    const std::optional<Literal> literal = literalOf(*node.children[1]);
    if (source.attribute < 0 || !literal || literal->kind != Kind::String)
        return {};
    auto test = std::make_shared<QuickTest>();
    test->test = kind;
    test->source = source;
    test->literals = {*literal};
    test->cost = evaluatedNodes(node);
    return test;
}

// `value == literal` as equals() answers it; nullopt when only the strings could tell (text
// that is not ASCII and not the literal's bytes: its UTF-8 may be broken and read otherwise).
std::optional<bool> equalsLiteral(const Scalar &value, const Literal &literal)
{
    switch (value.kind) {
    case Scalar::Kind::Null:
        return literal.kind == Kind::Null;
    case Scalar::Kind::Int:
        return literal.kind == Kind::Int && value.integer == literal.integer;
    case Scalar::Kind::Text:
        if (literal.kind != Kind::String)
            return false;
        if (value.utf8 == literal.utf8)
            return true;
        if (isAscii(value.utf8))
            return false;
        return std::nullopt;
    case Scalar::Kind::String:
        return literal.kind == Kind::String && value.string == literal.string;
    case Scalar::Kind::Unknown:
        break;
    }
    return std::nullopt;
}

std::optional<bool> ordered(int order, Op op)
{
    switch (op) {
    case Op::Less:
        return order < 0;
    case Op::LessEqual:
        return order <= 0;
    case Op::Greater:
        return order > 0;
    case Op::GreaterEqual:
        return order >= 0;
    default:
        return std::nullopt;
    }
}

std::optional<bool> compared(const Scalar &value, Op op, const Literal &literal)
{
    if (op == Op::Equal || op == Op::NotEqual) {
        const std::optional<bool> equal = equalsLiteral(value, literal);
        if (!equal)
            return std::nullopt;
        return op == Op::Equal ? *equal : !*equal;
    }
    if (value.kind == Scalar::Kind::Int && literal.kind == Kind::Int)
        return ordered(value.integer < literal.integer ? -1 : (value.integer > literal.integer ? 1 : 0), op);
    if (value.kind == Scalar::Kind::String && literal.kind == Kind::String)
        return ordered(value.string.compare(literal.string), op);
    // Strings in UTF-16 order (QString::compare()): the bytes' order only when both are ASCII.
    if (value.kind == Scalar::Kind::Text && literal.kind == Kind::String && literal.ascii && isAscii(value.utf8))
        return ordered(QByteArrayView(value.utf8).compare(literal.utf8) , op);
    return std::nullopt; // no order between these kinds, or null: the evaluator's error
}

// The string methods as the evaluator calls them (functions_p.cpp): on a QString, or on UTF-8
// bytes where they answer as the strings do (see utf8Method()).
template <typename Text>
std::optional<bool> stringMethod(QuickTest::Test test, const Text &text, const Text &literal, qint64 &cost)
{
    switch (test) {
    case QuickTest::Test::StartsWith:
        return text.startsWith(literal);
    case QuickTest::Test::EndsWith:
        return text.endsWith(literal);
    case QuickTest::Test::Contains:
        cost += text.size() / 16; // as the evaluator charges a contains(): its length in QChars
        return text.contains(literal);
    default:
        return std::nullopt;
    }
}

// On UTF-8 text the bytes answer as the strings do only on ASCII text (a QChar a byte). Not on
// empty text or an empty literal either: QString tells a null string from an empty one.
std::optional<bool> utf8Method(QuickTest::Test test, const QByteArray &text, const QByteArray &literal, qint64 &cost)
{
    if (text.isEmpty() || literal.isEmpty() || !isAscii(text))
        return std::nullopt;
    return stringMethod(test, text, literal, cost);
}

} // namespace

void addQuickTests(Node &node)
{
    for (const auto &child : node.children)
        addQuickTests(*child);
    if (node.kind == NodeKind::Binary)
        node.quick = node.op == Op::In ? membership(node) : comparison(node);
    else if (node.kind == NodeKind::Call)
        node.quick = method(node);
}

std::optional<bool> quickAnswer(const QuickTest &test, const Record &record, qint64 &steps, qint64 budget)
{
    const Scalar value = test.source.key.isNull() ? record.scalar(test.source.attribute)
                                                  : record.scalarEntry(test.source.attribute, test.source.key);
    if (value.kind == Scalar::Kind::Unknown)
        return std::nullopt;
    qint64 cost = test.cost;
    std::optional<bool> answer;
    switch (test.test) {
    case QuickTest::Test::Compare:
        answer = compared(value, test.op, test.literals.front());
        break;
    case QuickTest::Test::In: {
        bool unsure = false;
        answer = false;
        for (const Literal &literal : test.literals) {
            const std::optional<bool> equal = equalsLiteral(value, literal);
            unsure = unsure || !equal;
            if (equal.value_or(false)) {
                answer = true;
                break;
            }
        }
        if (!*answer && unsure)
            return std::nullopt;
        break;
    }
    case QuickTest::Test::StartsWith:
    case QuickTest::Test::EndsWith:
    case QuickTest::Test::Contains:
        if (value.kind == Scalar::Kind::String)
            answer = stringMethod(test.test, value.string, test.literals.front().string, cost);
        else if (value.kind == Scalar::Kind::Text)
            answer = utf8Method(test.test, value.utf8, test.literals.front().utf8, cost);
        break;
    }
    if (!answer || steps + cost > budget)
        return std::nullopt;
    steps += cost;
    return answer;
}

} // namespace Swamp::Query::Internal
