#include "query/evaluator_p.h"

#include "query/errors_p.h"
#include "query/functions_p.h"
#include "query/quick_p.h"

#include <QVarLengthArray>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace Qt::StringLiterals;

namespace Swamp::Query::Internal {

namespace {

class Evaluator
{
public:
    Evaluator(const Program &program, const QJsonObject *json, const Record *record, qint64 nowMs)
        : m_program(program), m_json(json), m_record(record), m_nowMs(nowMs),
          m_slots(std::size_t(program.slotCount))
    {
    }

    // The root without the conjuncts `skip` marks (known true for this record: its model type).
    Result<Value> root(const std::vector<bool> &skip)
    {
        const Node &node = *m_program.root;
        if (skip.empty())
            return eval(node);
        ++m_steps;
        if (node.kind != NodeKind::And)
            return skip.front() ? Value::fromBool(true) : eval(node);
        return logical(node, &skip);
    }

    Result<Value> eval(const Node &node)
    {
        if (node.quick && m_record) {
            if (const std::optional<bool> answer = quickAnswer(*node.quick, *m_record, m_steps, stepBudget))
                return Value::fromBool(*answer);
        }
        if (++m_steps > stepBudget)
            return budgetExceeded(node);
        switch (node.kind) {
        case NodeKind::Literal:
            return node.literal;
        case NodeKind::Identifier:
            return identifier(node);
        case NodeKind::Select: {
            Result<Value> target = eval(*node.children.at(0));
            if (!target)
                return target;
            return field(node, *target, node.name, *node.children.at(0));
        }
        case NodeKind::Index:
            return index(node);
        case NodeKind::Has:
            return has(node);
        case NodeKind::Call:
            return call(node);
        case NodeKind::Comprehension:
            return comprehension(node);
        case NodeKind::ListLiteral: {
            ValueList list;
            list.reserve(qsizetype(node.children.size()));
            for (const auto &child : node.children) {
                Result<Value> element = eval(*child);
                if (!element)
                    return element;
                list << std::move(*element);
            }
            return Value::fromList(std::move(list));
        }
        case NodeKind::MapLiteral:
            return mapLiteral(node);
        case NodeKind::Unary:
            return unary(node);
        case NodeKind::Binary:
            return binary(node);
        case NodeKind::And:
        case NodeKind::Or:
            return logical(node);
        case NodeKind::Conditional: {
            Result<Value> condition = eval(*node.children.at(0));
            if (!condition)
                return condition;
            if (condition->kind() != Kind::Bool)
                return typeError(Tr::tr("the condition of '?:' must be bool, not %1")
                                     .arg(kindName(condition->kind())),
                                 *node.children.at(0));
            return eval(*node.children.at(condition->boolean() ? 1 : 2));
        }
        }
        return Value::null();
    }

private:
    QString source(const Node &node) const
    {
        return m_program.source.mid(node.start, node.end - node.start);
    }

    std::unexpected<Error> error(const QString &code, const QString &message, const Node &node,
                                 const QString &fix = {}) const
    {
        return std::unexpected(positionedError(code, message, node.position, node.length, fix));
    }

    std::unexpected<Error> runtime(const QString &message, const Node &node,
                                   const QString &fix = {}) const
    {
        return error(u"query_runtime"_s, message, node, fix);
    }

    std::unexpected<Error> typeError(const QString &message, const Node &node) const
    {
        return error(u"query_type"_s, message, node);
    }

    std::unexpected<Error> budgetExceeded(const Node &node) const
    {
        return error(u"query_budget"_s,
                     Tr::tr("query predicate needs more than %1 evaluation steps for one record")
                         .arg(stepBudget),
                     node, Tr::tr("simplify the predicate or nest fewer list macros"));
    }

    // Concatenations and copies cost their size, so that memory stays bounded by the budget.
    Result<void> charge(qsizetype cost, const Node &node)
    {
        m_steps += cost;
        if (m_steps > stepBudget)
            return budgetExceeded(node);
        return {};
    }

    Result<Value> identifier(const Node &node)
    {
        switch (node.binding) {
        case Binding::Now:
            return Value::fromTimestamp(m_nowMs);
        case Binding::Variable:
            return m_slots.at(std::size_t(node.slot));
        case Binding::RecordField: {
            if (m_record && node.name == "attributes"_L1)
                return Value::fromAttributesOf(*m_record);
            const QVariant field = m_record ? m_record->field(node.name) : QVariant();
            const auto it = m_json ? m_json->constFind(node.name) : QJsonObject::const_iterator();
            if (m_record ? !field.isValid() : it == m_json->constEnd())
                return runtime(Tr::tr("the record has no field \"%1\"").arg(node.name), node);
            Result<Value> value = m_record ? fromVariant(field, node.fieldType) : fromJson(*it, node.fieldType);
            if (!value)
                return runtime(Tr::tr("%1 of %2").arg(value.error().message, node.name), node);
            return value;
        }
        case Binding::Unresolved:
            break;
        }
        return runtime(Tr::tr("internal error: unresolved name \"%1\"").arg(node.name), node);
    }

    Result<Value> field(const Node &node, const Value &target, const QString &key,
                        const Node &targetNode)
    {
        if (target.kind() == Kind::Map) {
            std::optional<Result<Value>> value = mapValue(target, key, node.fieldType);
            if (!value) {
                const QString expression = source(targetNode) + u'.' + key;
                return runtime(
                    Tr::tr("no such key \"%1\" in %2").arg(key, source(targetNode)), node,
                    node.kind == NodeKind::Select
                        ? Tr::tr("guard it with has(%1)").arg(expression)
                        : Tr::tr("guard it with \"%1\" in %2").arg(key, source(targetNode)));
            }
            if (!*value)
                return runtime(
                    Tr::tr("%1 in %2.%3").arg(value->error().message, source(targetNode), key),
                    node);
            return std::move(*value);
        }
        if (target.isNull())
            return runtime(
                Tr::tr("cannot read \"%1\" of null (%2 is null)").arg(key, source(targetNode)),
                node, Tr::tr("test %1 != null first").arg(source(targetNode)));
        return typeError(Tr::tr("no field \"%1\" on %2").arg(key, kindName(target.kind())), node);
    }

    Result<Value> index(const Node &node)
    {
        Result<Value> target = eval(*node.children.at(0));
        if (!target)
            return target;
        Result<Value> key = eval(*node.children.at(1));
        if (!key)
            return key;
        if (target->kind() == Kind::List && key->kind() == Kind::Int) {
            const ValueList &list = target->list();
            const qint64 at = key->integer();
            if (at < 0 || at >= list.size())
                return runtime(
                    Tr::tr("index %1 out of range for a list of %2").arg(at).arg(list.size()),
                    node);
            return list.at(qsizetype(at));
        }
        if (key->kind() == Kind::String && (target->kind() == Kind::Map || target->isNull()))
            return field(node, *target, key->string(), *node.children.at(0));
        return typeError(Tr::tr("no operator '[]' for %1 and %2")
                             .arg(kindName(target->kind()), kindName(key->kind())),
                         node);
    }

    Result<Value> has(const Node &node)
    {
        const Node &selection = *node.children.at(0);
        Result<Value> target = eval(*selection.children.at(0));
        if (!target)
            return target;
        if (target->kind() == Kind::Map)
            return Value::fromBool(mapContains(*target, selection.name));
        return typeError(Tr::tr("has() needs a map, not %1 (%2)")
                             .arg(kindName(target->kind()), source(*selection.children.at(0))),
                         selection);
    }

    Result<Value> call(const Node &node)
    {
        QVarLengthArray<Value, 4> arguments; // no allocation for a call per record
        for (const auto &child : node.children) {
            Result<Value> argument = eval(*child);
            if (!argument)
                return argument;
            arguments << std::move(*argument);
        }
        const auto fits = [&](qsizetype index) {
            const QList<Kind> &params = overloads().at(index).params;
            return std::equal(params.begin(), params.end(), arguments.begin(), arguments.end(),
                              [](Kind kind, const Value &argument) { return kind == argument.kind(); });
        };
        if (std::none_of(node.overloads.begin(), node.overloads.end(), fits)) {
            QList<Kind> kinds;
            for (const Value &argument : std::as_const(arguments))
                kinds << argument.kind();
            return typeError(
                Tr::tr("no overload of %1").arg(callDescription(node.name, node.isMethod, kinds)),
                node);
        }
        if (node.name == "matches"_L1 || node.name == "contains"_L1) {
            if (Result<void> charged = charge(arguments.at(0).string().size() / 16, node); !charged)
                return std::unexpected(charged.error());
        }
        Result<Value> result = callFunction(node.name, node.isMethod,
                                            std::span<const Value>(arguments.constData(), size_t(arguments.size())),
                                            node.regex.get());
        if (!result)
            return runtime(result.error().message, node, result.error().fix);
        return result;
    }

    Result<Value> comprehension(const Node &node)
    {
        Result<Value> range = eval(*node.children.at(0));
        if (!range)
            return range;
        ValueList items;
        if (range->kind() == Kind::List) {
            items = range->list();
        } else if (range->kind() == Kind::Map) {
            for (const QString &key : mapKeys(*range))
                items << Value::fromString(key);
        } else {
            return typeError(Tr::tr("%1() needs a list or a map, not %2")
                                 .arg(node.name, kindName(range->kind())),
                             node);
        }
        Value &variable = m_slots.at(std::size_t(node.slot));
        const QString &macro = node.name;
        const Node &condition = *node.children.at(1);
        if (macro == "map"_L1 || macro == "filter"_L1) {
            const Node &transform = *node.children.back();
            const bool filtered = macro == "filter"_L1 || node.children.size() == 3;
            ValueList results;
            for (const Value &item : std::as_const(items)) {
                variable = item;
                if (filtered) {
                    Result<Value> keep = predicate(condition, macro);
                    if (!keep)
                        return keep;
                    if (!keep->boolean())
                        continue;
                }
                if (macro == "filter"_L1) {
                    results << item;
                    continue;
                }
                Result<Value> mapped = eval(transform);
                if (!mapped)
                    return mapped;
                results << std::move(*mapped);
            }
            return Value::fromList(std::move(results));
        }
        // exists / all absorb errors like || / &&; exists_one propagates them.
        const bool isAll = macro == "all"_L1;
        const bool isOne = macro == "exists_one"_L1;
        std::optional<Error> firstError;
        qsizetype count = 0;
        for (const Value &item : std::as_const(items)) {
            variable = item;
            Result<Value> test = predicate(condition, macro);
            if (!test) {
                if (isOne || test.error().code == "query_budget"_L1)
                    return test;
                if (!firstError)
                    firstError = test.error();
                continue;
            }
            if (isOne) {
                count += test->boolean() ? 1 : 0;
            } else if (test->boolean() != isAll) {
                return Value::fromBool(!isAll);
            }
        }
        if (isOne)
            return Value::fromBool(count == 1);
        if (firstError)
            return std::unexpected(*firstError);
        return Value::fromBool(isAll);
    }

    Result<Value> predicate(const Node &condition, const QString &macro)
    {
        Result<Value> test = eval(condition);
        if (test && test->kind() != Kind::Bool)
            return typeError(Tr::tr("the condition of %1() must be bool, not %2")
                                 .arg(macro, kindName(test->kind())),
                             condition);
        return test;
    }

    Result<Value> mapLiteral(const Node &node)
    {
        ValueMap map;
        for (std::size_t i = 0; i + 1 < node.children.size(); i += 2) {
            Result<Value> key = eval(*node.children.at(i));
            if (!key)
                return key;
            if (key->kind() != Kind::String)
                return typeError(
                    Tr::tr("map keys must be strings, not %1").arg(kindName(key->kind())),
                    *node.children.at(i));
            Result<Value> value = eval(*node.children.at(i + 1));
            if (!value)
                return value;
            if (map.contains(key->string()))
                return runtime(Tr::tr("duplicate map key \"%1\"").arg(key->string()),
                               *node.children.at(i));
            map.insert(key->string(), std::move(*value));
        }
        return Value::fromMap(std::move(map));
    }

    Result<Value> unary(const Node &node)
    {
        Result<Value> operand = eval(*node.children.at(0));
        if (!operand)
            return operand;
        const Kind kind = operand->kind();
        if (node.op == Op::Not && kind == Kind::Bool)
            return Value::fromBool(!operand->boolean());
        if (node.op == Op::Negate) {
            if (kind == Kind::Int) {
                if (operand->integer() == std::numeric_limits<qint64>::min())
                    return overflow(node);
                return Value::fromInt(-operand->integer());
            }
            if (kind == Kind::Double)
                return Value::fromDouble(-operand->number());
            if (kind == Kind::Duration)
                return Value::fromDuration(-operand->durationMs());
        }
        return typeError(Tr::tr("no operator '%1' for %2").arg(opSpelling(node.op), kindName(kind)),
                         node);
    }

    std::unexpected<Error> overflow(const Node &node) const
    {
        return runtime(Tr::tr("integer overflow in %1").arg(source(node)), node,
                       Tr::tr("integers are 64-bit: -9223372036854775808 to 9223372036854775807"));
    }

    Result<Value> logical(const Node &node, const std::vector<bool> *skip = nullptr)
    {
        // CEL: the result does not depend on operand order. false && error == false,
        // true || error == true; otherwise the first error wins.
        const bool isAnd = node.kind == NodeKind::And;
        std::optional<Error> firstError;
        for (std::size_t i = 0; i < node.children.size(); ++i) {
            if (skip && (*skip)[i])
                continue; // true: nothing to absorb or report
            const auto &child = node.children[i];
            Result<Value> operand = eval(*child);
            if (!operand) {
                if (operand.error().code == "query_budget"_L1)
                    return operand;
                if (!firstError)
                    firstError = operand.error();
                continue;
            }
            if (operand->kind() != Kind::Bool) {
                if (!firstError)
                    firstError =
                        typeError(Tr::tr("operator '%1' needs bool operands, not %2")
                                      .arg(isAnd ? u"&&"_s : u"||"_s, kindName(operand->kind())),
                                  *child)
                            .error();
                continue;
            }
            if (operand->boolean() != isAnd)
                return Value::fromBool(!isAnd);
        }
        if (firstError)
            return std::unexpected(*firstError);
        return Value::fromBool(isAnd);
    }


    Result<Value> binary(const Node &node)
    {
        Result<Value> left = eval(*node.children.at(0));
        if (!left)
            return left;
        Result<Value> right = eval(*node.children.at(1));
        if (!right)
            return right;
        const Kind l = left->kind();
        const Kind r = right->kind();
        const auto noOverload = [&]() {
            return typeError(Tr::tr("no operator '%1' for %2 and %3")
                                 .arg(opSpelling(node.op), kindName(l), kindName(r)),
                             node);
        };
        switch (node.op) {
        case Op::Equal:
            return Value::fromBool(equals(*left, *right));
        case Op::NotEqual:
            return Value::fromBool(!equals(*left, *right));
        case Op::Less:
        case Op::LessEqual:
        case Op::Greater:
        case Op::GreaterEqual: {
            const std::optional<int> order = compare(*left, *right);
            if (!order) {
                if (l == Kind::Double || r == Kind::Double) // NaN
                    if ((l == Kind::Double || l == Kind::Int) &&
                        (r == Kind::Double || r == Kind::Int))
                        return Value::fromBool(false);
                return noOverload();
            }
            const int o = *order;
            const bool result = node.op == Op::Less        ? o < 0
                                : node.op == Op::LessEqual ? o <= 0
                                : node.op == Op::Greater   ? o > 0
                                                           : o >= 0;
            return Value::fromBool(result);
        }
        case Op::In:
            if (r == Kind::List) {
                if (Result<void> charged = charge(right->list().size(), node); !charged)
                    return std::unexpected(charged.error());
                for (const Value &element : right->list()) {
                    if (equals(*left, element))
                        return Value::fromBool(true);
                }
                return Value::fromBool(false);
            }
            if (r == Kind::Map)
                return Value::fromBool(l == Kind::String && mapContains(*right, left->string()));
            return noOverload();
        default:
            break;
        }
        return arithmetic(node, *left, *right, noOverload);
    }

    template <typename NoOverload>
    Result<Value> arithmetic(const Node &node, const Value &left, const Value &right,
                             const NoOverload &noOverload)
    {
        const Kind l = left.kind();
        const Kind r = right.kind();
        const Op op = node.op;
        if (l == Kind::Int && r == Kind::Int) {
            if (auto value = integerArithmetic(node, left.integer(), right.integer()))
                return std::move(*value);
        }
        if (l == Kind::Double && r == Kind::Double && op != Op::Modulo) {
            if (auto value = doubleArithmetic(node, left.number(), right.number()))
                return std::move(*value);
        }
        if (op == Op::Add && l == Kind::String && r == Kind::String) {
            if (Result<void> charged = charge(left.string().size() + right.string().size(), node);
                !charged)
                return std::unexpected(charged.error());
            return Value::fromString(left.string() + right.string());
        }
        if (op == Op::Add && l == Kind::List && r == Kind::List) {
            if (Result<void> charged = charge(left.list().size() + right.list().size(), node);
                !charged)
                return std::unexpected(charged.error());
            return Value::fromList(left.list() + right.list());
        }
        if (auto value = timeArithmetic(node, left, right))
            return std::move(*value);
        return noOverload();
    }

    // int op int, checked for overflow; nullopt when `node.op` is not one of + - * / %.
    std::optional<Result<Value>> integerArithmetic(const Node &node, qint64 a, qint64 b)
    {
        qint64 result = 0;
        switch (node.op) {
        case Op::Add:
            if (__builtin_add_overflow(a, b, &result))
                return overflow(node);
            return Value::fromInt(result);
        case Op::Subtract:
            if (__builtin_sub_overflow(a, b, &result))
                return overflow(node);
            return Value::fromInt(result);
        case Op::Multiply:
            if (__builtin_mul_overflow(a, b, &result))
                return overflow(node);
            return Value::fromInt(result);
        case Op::Divide:
        case Op::Modulo:
            if (b == 0)
                return runtime(Tr::tr("division by zero in %1").arg(source(node)), node);
            if (a == std::numeric_limits<qint64>::min() && b == -1)
                return overflow(node);
            return Value::fromInt(node.op == Op::Divide ? a / b : a % b);
        default:
            return std::nullopt;
        }
    }

    // double op double; nullopt when `node.op` is not one of + - * /.
    std::optional<Result<Value>> doubleArithmetic(const Node &node, double a, double b)
    {
        switch (node.op) {
        case Op::Add:
            return Value::fromDouble(a + b);
        case Op::Subtract:
            return Value::fromDouble(a - b);
        case Op::Multiply:
            return Value::fromDouble(a * b);
        case Op::Divide:
            if (b == 0)
                return runtime(Tr::tr("division by zero in %1").arg(source(node)), node);
            return Value::fromDouble(a / b);
        default:
            return std::nullopt;
        }
    }

    // timestamp ± duration, duration + timestamp, duration ± duration, timestamp − timestamp,
    // each within its range; nullopt for any other pair.
    std::optional<Result<Value>> timeArithmetic(const Node &node, const Value &left, const Value &right)
    {
        if (node.op != Op::Add && node.op != Op::Subtract)
            return std::nullopt;
        const Kind l = left.kind();
        const Kind r = right.kind();
        const bool add = node.op == Op::Add;
        const auto timestamp = [&](qint64 a, qint64 b, bool plus) -> Result<Value> {
            qint64 result = 0;
            if ((plus ? __builtin_add_overflow(a, b, &result) : __builtin_sub_overflow(a, b, &result)) ||
                result < minTimestampMs || result > maxTimestampMs)
                return runtime(Tr::tr("timestamp out of range in %1").arg(source(node)), node);
            return Value::fromTimestamp(result);
        };
        const auto duration = [&](qint64 a, qint64 b, bool plus) -> Result<Value> {
            qint64 result = 0;
            if ((plus ? __builtin_add_overflow(a, b, &result) : __builtin_sub_overflow(a, b, &result)) ||
                result < -maxDurationMs || result > maxDurationMs)
                return runtime(Tr::tr("duration out of range in %1").arg(source(node)), node);
            return Value::fromDuration(result);
        };
        if (l == Kind::Timestamp && r == Kind::Duration)
            return timestamp(left.timestampMs(), right.durationMs(), add);
        if (add && l == Kind::Duration && r == Kind::Timestamp)
            return timestamp(right.timestampMs(), left.durationMs(), true);
        if (l == Kind::Duration && r == Kind::Duration)
            return duration(left.durationMs(), right.durationMs(), add);
        if (!add && l == Kind::Timestamp && r == Kind::Timestamp)
            return duration(left.timestampMs(), right.timestampMs(), false);
        return std::nullopt;
    }

    const Program &m_program;
    const QJsonObject *m_json;  // the record: one of these two
    const Record *m_record;
    qint64 m_nowMs;
    std::vector<Value> m_slots;
    qint64 m_steps = 0;
};

} // namespace

void foldConstantLists(Node &node)
{
    for (const auto &child : node.children)
        foldConstantLists(*child);
    if (node.kind != NodeKind::ListLiteral)
        return;
    ValueList list;
    for (const auto &child : node.children) {
        if (child->kind != NodeKind::Literal)
            return;
        list << child->literal;
    }
    node.literal = Value::fromList(std::move(list));
    node.kind = NodeKind::Literal;
}

Result<Value> evaluate(const Program &program, const QJsonObject &record, qint64 nowMs, const std::vector<bool> &skip)
{
    return Evaluator(program, &record, nullptr, nowMs).root(skip);
}

Result<Value> evaluate(const Program &program, const Record &record, qint64 nowMs, const std::vector<bool> &skip)
{
    return Evaluator(program, nullptr, &record, nowMs).root(skip);
}

} // namespace Swamp::Query::Internal
