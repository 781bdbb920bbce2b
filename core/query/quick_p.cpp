#include "query/quick_p.h"

#include <QByteArrayView>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Swamp::Query::Internal {

namespace {

using Literal = QuickTest::Literal;

// Every node of a quick test is evaluated once: the test, `attributes.x`, `attributes`, the literal.
constexpr qint64 nodesOfATest = 4;

bool isAscii(QByteArrayView utf8)
{
    return std::all_of(utf8.begin(), utf8.end(), [](char c) { return (uchar(c) & 0x80) == 0; });
}

// `attributes.x` of the record, read as its column holds it: ids of the built-in schema only, and
// not a field the evaluator reads as a timestamp, a duration or a double.
int attributeOf(const Node &node)
{
    if (node.kind != NodeKind::Select || node.children.size() != 1)
        return -1;
    const Node &target = *node.children.front();
    if (target.kind != NodeKind::Identifier || target.binding != Binding::RecordField || target.name != "attributes"_L1)
        return -1;
    if (node.fieldType != FieldType::String && node.fieldType != FieldType::Int && node.fieldType != FieldType::Any)
        return -1;
    return attributeId(node.name);
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
    const bool attributeFirst = attributeOf(left) >= 0;
    const int attribute = attributeFirst ? attributeOf(left) : attributeOf(right);
    const std::optional<Literal> literal = literalOf(attributeFirst ? right : left);
    if (attribute < 0 || !literal)
        return {};
    auto test = std::make_shared<QuickTest>();
    test->test = QuickTest::Test::Compare;
    test->op = attributeFirst ? node.op : mirrored(node.op);
    test->attribute = attribute;
    test->literals = {*literal};
    test->cost = nodesOfATest;
    return test;
}

std::shared_ptr<const QuickTest> membership(const Node &node)
{
    if (node.children.size() != 2)
        return {};
    const int attribute = attributeOf(*node.children[0]);
    const Node &list = *node.children[1];
    if (attribute < 0 || list.kind != NodeKind::Literal || list.literal.kind() != Kind::List)
        return {};
    auto test = std::make_shared<QuickTest>();
    test->test = QuickTest::Test::In;
    test->attribute = attribute;
    for (const Value &element : list.literal.list()) {
        const std::optional<Literal> literal = literalOf(element);
        if (!literal)
            return {};
        test->literals << *literal;
    }
    test->cost = nodesOfATest + test->literals.size();
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
    const int attribute = attributeOf(*node.children[0]);
    const std::optional<Literal> literal = literalOf(*node.children[1]);
    if (attribute < 0 || !literal || literal->kind != Kind::String)
        return {};
    auto test = std::make_shared<QuickTest>();
    test->test = kind;
    test->attribute = attribute;
    test->literals = {*literal};
    test->cost = nodesOfATest;
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
    // Strings in UTF-16 order (QString::compare()): the bytes' order only when both are ASCII.
    if (value.kind == Scalar::Kind::Text && literal.kind == Kind::String && literal.ascii && isAscii(value.utf8))
        return ordered(QByteArrayView(value.utf8).compare(literal.utf8) , op);
    return std::nullopt; // no order between these kinds, or null: the evaluator's error
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
    const Scalar value = record.scalar(test.attribute);
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
    case QuickTest::Test::Contains: {
        // On ASCII text the bytes answer as the strings do. Not on empty text or an empty literal:
        // QString tells a null string from an empty one there.
        const QByteArray &needle = test.literals.front().utf8;
        if (value.kind != Scalar::Kind::Text || value.utf8.isEmpty() || needle.isEmpty() || !isAscii(value.utf8))
            return std::nullopt;
        const QByteArrayView text(value.utf8);
        if (test.test == QuickTest::Test::StartsWith) {
            answer = text.startsWith(needle);
        } else if (test.test == QuickTest::Test::EndsWith) {
            answer = text.endsWith(needle);
        } else {
            cost += text.size() / 16; // as the evaluator charges a contains()
            answer = text.contains(needle);
        }
        break;
    }
    }
    if (!answer || steps + cost > budget)
        return std::nullopt;
    steps += cost;
    return answer;
}

} // namespace Swamp::Query::Internal
