#include "query/checker_p.h"

#include "query/errors_p.h"
#include "query/functions_p.h"

#include <QJsonArray>

using namespace Qt::StringLiterals;

namespace Swamp::Query::Internal {

namespace {

bool isNumeric(Kind kind)
{
    return kind == Kind::Int || kind == Kind::Double;
}

// The result of `left op right` when both kinds are known; nullopt when no overload exists.
std::optional<Kind> binaryResult(Op op, Kind left, Kind right)
{
    switch (op) {
    case Op::Equal:
    case Op::NotEqual:
        if (left == right || left == Kind::Null || right == Kind::Null ||
            (isNumeric(left) && isNumeric(right)))
            return Kind::Bool;
        return std::nullopt;
    case Op::Less:
    case Op::LessEqual:
    case Op::Greater:
    case Op::GreaterEqual:
        if (isNumeric(left) && isNumeric(right))
            return Kind::Bool;
        if (left == right && (left == Kind::String || left == Kind::Bool ||
                              left == Kind::Timestamp || left == Kind::Duration))
            return Kind::Bool;
        return std::nullopt;
    case Op::In:
        if (right == Kind::List || (right == Kind::Map && left == Kind::String))
            return Kind::Bool;
        return std::nullopt;
    case Op::Add:
        if (left == right && (left == Kind::Int || left == Kind::Double || left == Kind::String ||
                              left == Kind::List || left == Kind::Duration))
            return left;
        if ((left == Kind::Timestamp && right == Kind::Duration) ||
            (left == Kind::Duration && right == Kind::Timestamp))
            return Kind::Timestamp;
        return std::nullopt;
    case Op::Subtract:
        if (left == right && (left == Kind::Int || left == Kind::Double || left == Kind::Duration))
            return left;
        if (left == Kind::Timestamp && right == Kind::Timestamp)
            return Kind::Duration;
        if (left == Kind::Timestamp && right == Kind::Duration)
            return Kind::Timestamp;
        return std::nullopt;
    case Op::Multiply:
    case Op::Divide:
        if (left == right && isNumeric(left))
            return left;
        return std::nullopt;
    case Op::Modulo:
        if (left == Kind::Int && right == Kind::Int)
            return Kind::Int;
        return std::nullopt;
    default:
        break;
    }
    return std::nullopt;
}

// What the checker knows about an expression besides its kind: whether it is the record's
// attributes map (whose keys the schema knows) or a map/list with free keys.
enum class Origin { Plain, Attributes };

struct Info
{
    Kind kind = Kind::Dyn;
    Origin origin = Origin::Plain;
};

struct Scope
{
    QString name;
    int slot;
    Kind kind;
};

bool isModelTypeField(const Node &node)
{
    return node.kind == NodeKind::Identifier && node.name == u"modelType";
}

bool isStringLiteral(const Node &node)
{
    return node.kind == NodeKind::Literal && node.literal.kind() == Kind::String;
}

// attributes.<field> or attributes["field"] outside any comprehension.
std::optional<QString> attributeField(const Node &node)
{
    if (node.kind == NodeKind::Select && node.children.at(0)->kind == NodeKind::Identifier &&
        node.children.at(0)->name == u"attributes")
        return node.name;
    if (node.kind == NodeKind::Index && node.children.at(0)->kind == NodeKind::Identifier &&
        node.children.at(0)->name == u"attributes" && isStringLiteral(*node.children.at(1)))
        return node.children.at(1)->literal.string();
    return std::nullopt;
}

std::optional<QStringList> modelTypesOf(const Node &conjunct)
{
    if (conjunct.kind != NodeKind::Binary)
        return std::nullopt;
    const Node &left = *conjunct.children.at(0);
    const Node &right = *conjunct.children.at(1);
    if (conjunct.op == Op::Equal) {
        if (isModelTypeField(left) && isStringLiteral(right))
            return QStringList{right.literal.string()};
        if (isModelTypeField(right) && isStringLiteral(left))
            return QStringList{left.literal.string()};
    }
    if (conjunct.op == Op::In && isModelTypeField(left) && right.kind == NodeKind::ListLiteral) {
        QStringList types;
        for (const auto &element : right.children) {
            if (!isStringLiteral(*element))
                return std::nullopt;
            types << element->literal.string();
        }
        return types;
    }
    return std::nullopt;
}

void computeHints(Program &program)
{
    const Node &root = *program.root;
    std::vector<const Node *> conjuncts;
    if (root.kind == NodeKind::And) {
        for (const auto &child : root.children)
            conjuncts.push_back(child.get());
    } else {
        conjuncts.push_back(&root);
    }
    for (const Node *conjunct : conjuncts) {
        const int index = int(program.conjunctModelTypes.size());
        program.conjunctModelTypes.push_back(modelTypesOf(*conjunct));
        if (std::optional<QStringList> types = modelTypesOf(*conjunct)) {
            types->removeDuplicates();
            if (!program.modelTypes) {
                program.modelTypes = *types;
            } else {
                QStringList both;
                for (const QString &type : std::as_const(*program.modelTypes)) {
                    if (types->contains(type))
                        both << type;
                }
                program.modelTypes = both;
            }
            continue;
        }
        if (conjunct->kind != NodeKind::Binary || conjunct->op != Op::Equal)
            continue;
        for (int side = 0; side < 2; ++side) {
            const Node &field = *conjunct->children.at(side);
            const Node &literal = *conjunct->children.at(1 - side);
            const std::optional<QString> name = attributeField(field);
            if (!name || literal.kind != NodeKind::Literal)
                continue;
            const Kind kind = literal.literal.kind();
            if (kind == Kind::String || kind == Kind::Int || kind == Kind::Double || kind == Kind::Bool) {
                program.attributeEqualities.append({*name, toJson(literal.literal)});
                program.equalityConjuncts.push_back(index);
            }
        }
    }
}

class Checker
{
public:
    Checker(Program &program, const Schema &schema) : m_program(program), m_schema(schema)
    {
        // Fields are checked against the models the predicate restricts to, when those are
        // known models; otherwise against all of them.
        if (program.modelTypes) {
            for (const QString &type : std::as_const(*program.modelTypes)) {
                if (schema.hasModel(type))
                    m_models << type;
            }
        }
    }

    Result<void> run()
    {
        Result<Info> info = visit(*m_program.root);
        if (!info)
            return std::unexpected(info.error());
        return {};
    }

private:
    std::unexpected<Error> error(const QString &code, const QString &message, const Node &node,
                                 const QString &fix = {}) const
    {
        return std::unexpected(positionedError(code, message, node.position, node.length, fix));
    }

    std::unexpected<Error> typeError(const QString &message, const Node &node) const
    {
        return error(u"query_type"_s, message, node);
    }

    std::unexpected<Error> unknown(const QString &what, const QString &name, const Node &node,
                                   const QStringList &candidates, const QString &fix)
    {
        const QString suggestion = closestMatch(name, candidates);
        QString message = Tr::tr("unknown %1 \"%2\" in query predicate").arg(what, name);
        if (!suggestion.isEmpty())
            message += u' ' + Tr::tr("(did you mean \"%1\"?)").arg(suggestion);
        Error made =
            positionedError(u"query_unknown_field"_s, message, node.position, node.length, fix);
        if (!suggestion.isEmpty())
            made.details.insert(u"suggestion"_s, suggestion);
        made.details.insert(u"fields"_s, QJsonArray::fromStringList(candidates));
        return std::unexpected(made);
    }

    Result<Info> visit(Node &node)
    {
        Result<Info> info = visitKind(node);
        if (info)
            node.staticKind = info->kind;
        return info;
    }

    Result<Info> visitKind(Node &node)
    {
        switch (node.kind) {
        case NodeKind::Literal:
            return Info{node.literal.kind()};
        case NodeKind::Identifier:
            return identifier(node);
        case NodeKind::Select:
            return select(node);
        case NodeKind::Index:
            return index(node);
        case NodeKind::Has: {
            Node &selection = *node.children.at(0);
            Result<Info> operand = visit(selection);
            if (!operand)
                return operand;
            const Kind target = selection.children.at(0)->staticKind;
            if (target != Kind::Map && target != Kind::Dyn)
                return typeError(Tr::tr("has() needs a map field, not %1").arg(kindName(target)),
                                 selection);
            return Info{Kind::Bool};
        }
        case NodeKind::Call:
            return call(node);
        case NodeKind::Comprehension:
            return comprehension(node);
        case NodeKind::ListLiteral:
            for (auto &child : node.children) {
                if (Result<Info> element = visit(*child); !element)
                    return element;
            }
            return Info{Kind::List};
        case NodeKind::MapLiteral:
            for (std::size_t i = 0; i < node.children.size(); ++i) {
                Result<Info> part = visit(*node.children.at(i));
                if (!part)
                    return part;
                if (i % 2 == 0 && part->kind != Kind::String && part->kind != Kind::Dyn)
                    return typeError(
                        Tr::tr("map keys must be strings, not %1").arg(kindName(part->kind)),
                        *node.children.at(i));
            }
            return Info{Kind::Map};
        case NodeKind::Unary: {
            Result<Info> operand = visit(*node.children.at(0));
            if (!operand)
                return operand;
            const Kind kind = operand->kind;
            if (kind == Kind::Dyn)
                return Info{node.op == Op::Not ? Kind::Bool : Kind::Dyn};
            if (node.op == Op::Not ? kind == Kind::Bool
                                   : (isNumeric(kind) || kind == Kind::Duration))
                return Info{kind};
            return typeError(
                Tr::tr("no operator '%1' for %2").arg(opSpelling(node.op), kindName(kind)), node);
        }
        case NodeKind::Binary:
            return binary(node);
        case NodeKind::And:
        case NodeKind::Or:
            for (auto &child : node.children) {
                Result<Info> operand = visit(*child);
                if (!operand)
                    return operand;
                if (operand->kind != Kind::Bool && operand->kind != Kind::Dyn)
                    return typeError(Tr::tr("operator '%1' needs bool operands, not %2")
                                         .arg(node.kind == NodeKind::And ? u"&&"_s : u"||"_s,
                                              kindName(operand->kind)),
                                     *child);
            }
            return Info{Kind::Bool};
        case NodeKind::Conditional: {
            Result<Info> condition = visit(*node.children.at(0));
            if (!condition)
                return condition;
            if (condition->kind != Kind::Bool && condition->kind != Kind::Dyn)
                return typeError(Tr::tr("the condition of '?:' must be bool, not %1")
                                     .arg(kindName(condition->kind)),
                                 *node.children.at(0));
            Result<Info> then = visit(*node.children.at(1));
            if (!then)
                return then;
            Result<Info> otherwise = visit(*node.children.at(2));
            if (!otherwise)
                return otherwise;
            return Info{then->kind == otherwise->kind ? then->kind : Kind::Dyn};
        }
        }
        return Info{};
    }

    Result<Info> identifier(Node &node)
    {
        for (auto it = m_scopes.crbegin(); it != m_scopes.crend(); ++it) {
            if (it->name == node.name) {
                node.binding = Binding::Variable;
                node.slot = it->slot;
                return Info{it->kind};
            }
        }
        if (node.name == u"now") {
            node.binding = Binding::Now;
            return Info{Kind::Timestamp};
        }
        QStringList names;
        for (const auto &[name, type] : Schema::topLevelFields()) {
            if (name == node.name) {
                node.binding = Binding::RecordField;
                node.fieldType = type;
                return Info{kindOf(type),
                            name == u"attributes" ? Origin::Attributes : Origin::Plain};
            }
            names << name;
        }
        names << u"now"_s;
        for (const Scope &scope : m_scopes)
            names << scope.name;
        return unknown(
            Tr::tr("field"), node.name, node, names,
            Tr::tr("records have %1; model fields are under attributes.").arg(names.join(u", ")));
    }

    // `attributes.<name>` (or attributes["name"]): checked against the schema.
    Result<Info> attributeSelection(Node &node, const QString &name)
    {
        const std::optional<FieldType> type = m_schema.attributeType(name, m_models);
        if (!type) {
            const QStringList names = m_schema.attributeNames(m_models);
            const QString scope = m_models.isEmpty() ? Tr::tr("any model") : m_models.join(u", ");
            return unknown(Tr::tr("field"), name, node, names,
                           Tr::tr("fields of %1: %2").arg(scope, names.join(u", ")));
        }
        node.fieldType = *type;
        return Info{kindOf(*type)};
    }

    Result<Info> select(Node &node)
    {
        Result<Info> target = visit(*node.children.at(0));
        if (!target)
            return target;
        if (target->origin == Origin::Attributes)
            return attributeSelection(node, node.name);
        if (target->kind != Kind::Map && target->kind != Kind::Dyn)
            return typeError(Tr::tr("no field \"%1\" on %2").arg(node.name, kindName(target->kind)),
                             node);
        return Info{};
    }

    Result<Info> index(Node &node)
    {
        Result<Info> target = visit(*node.children.at(0));
        if (!target)
            return target;
        Node &keyNode = *node.children.at(1);
        Result<Info> key = visit(keyNode);
        if (!key)
            return key;
        if (target->origin == Origin::Attributes && isStringLiteral(keyNode))
            return attributeSelection(node, keyNode.literal.string());
        const bool fits = target->kind == Kind::Dyn || key->kind == Kind::Dyn ||
                          (target->kind == Kind::List && key->kind == Kind::Int) ||
                          (target->kind == Kind::Map && key->kind == Kind::String);
        if (!fits)
            return typeError(Tr::tr("no operator '[]' for %1 and %2")
                                 .arg(kindName(target->kind), kindName(key->kind)),
                             node);
        return Info{};
    }

    Result<Info> binary(Node &node)
    {
        Node &leftNode = *node.children.at(0);
        Node &rightNode = *node.children.at(1);
        Result<Info> left = visit(leftNode);
        if (!left)
            return left;
        Result<Info> right = visit(rightNode);
        if (!right)
            return right;
        if (Result<void> model = checkModelType(node); !model)
            return std::unexpected(model.error());
        const bool isPredicate = node.op >= Op::Equal;
        if (left->kind == Kind::Dyn || right->kind == Kind::Dyn) {
            if (node.op == Op::In && right->kind != Kind::Dyn && right->kind != Kind::List &&
                right->kind != Kind::Map)
                return typeError(Tr::tr("no operator 'in' for %1 and %2")
                                     .arg(kindName(left->kind), kindName(right->kind)),
                                 node);
            return Info{isPredicate ? Kind::Bool : Kind::Dyn};
        }
        const std::optional<Kind> result = binaryResult(node.op, left->kind, right->kind);
        if (!result)
            return typeError(
                Tr::tr("no operator '%1' for %2 and %3")
                    .arg(opSpelling(node.op), kindName(left->kind), kindName(right->kind)),
                node);
        return Info{*result};
    }

    // `modelType == "swamp/wroker"` can never match: say so, with a suggestion.
    Result<void> checkModelType(const Node &node)
    {
        std::vector<const Node *> literals;
        const Node &left = *node.children.at(0);
        const Node &right = *node.children.at(1);
        const bool leftIsField = isModelTypeField(left) && left.binding == Binding::RecordField;
        const bool rightIsField = isModelTypeField(right) && right.binding == Binding::RecordField;
        if ((node.op == Op::Equal || node.op == Op::NotEqual) && leftIsField &&
            isStringLiteral(right))
            literals.push_back(&right);
        else if ((node.op == Op::Equal || node.op == Op::NotEqual) && rightIsField &&
                 isStringLiteral(left))
            literals.push_back(&left);
        else if (node.op == Op::In && leftIsField && right.kind == NodeKind::ListLiteral) {
            for (const auto &element : right.children) {
                if (isStringLiteral(*element))
                    literals.push_back(element.get());
            }
        }
        const QStringList known = m_schema.modelTypes();
        for (const Node *literal : literals) {
            const QString type = literal->literal.string();
            if (!known.contains(type))
                return unknown(Tr::tr("model type"), type, *literal, known,
                               Tr::tr("model types: %1").arg(known.join(u", ")));
        }
        return {};
    }

    Result<Info> call(Node &node)
    {
        QList<Kind> kinds;
        for (auto &child : node.children) {
            Result<Info> argument = visit(*child);
            if (!argument)
                return argument;
            kinds << argument->kind;
        }
        QList<const Overload *> named;
        for (const Overload &overload : overloads()) {
            if (overload.name == node.name && overload.isMethod == node.isMethod)
                named << &overload;
        }
        if (named.isEmpty()) {
            QStringList names;
            for (const Overload &overload : overloads()) {
                if (overload.isMethod == node.isMethod)
                    names << overload.name;
            }
            names.removeDuplicates();
            if (node.isMethod)
                names << u"exists"_s << u"all"_s << u"exists_one"_s << u"map"_s << u"filter"_s;
            else
                names << u"has"_s;
            const QString what = node.isMethod ? Tr::tr("method") : Tr::tr("function");
            return unknown(what, node.name, node, names,
                           Tr::tr("functions: %1").arg(functionNames().join(u", ")));
        }
        QList<const Overload *> candidates;
        for (const Overload *overload : std::as_const(named)) {
            if (overload->params.size() != kinds.size())
                continue;
            bool fits = true;
            for (qsizetype i = 0; i < kinds.size(); ++i) {
                if (kinds.at(i) != Kind::Dyn && kinds.at(i) != overload->params.at(i))
                    fits = false;
            }
            if (fits) {
                candidates << overload;
                node.overloads << (overload - overloads().constData());
            }
        }
        if (candidates.isEmpty())
            return typeError(
                Tr::tr("no overload of %1").arg(callDescription(node.name, node.isMethod, kinds)),
                node);
        if (node.name == u"matches" && isStringLiteral(*node.children.at(1))) {
            Result<QRegularExpression> regex =
                compilePattern(node.children.at(1)->literal.string());
            if (!regex) {
                const Node &pattern = *node.children.at(1);
                return std::unexpected(positionedError(regex.error().code, regex.error().message,
                                                       pattern.position, pattern.length,
                                                       regex.error().fix));
            }
            node.regex = std::make_shared<const QRegularExpression>(std::move(*regex));
        }
        Kind result = candidates.at(0)->result;
        for (const Overload *candidate : std::as_const(candidates)) {
            if (candidate->result != result)
                result = Kind::Dyn;
        }
        foldConstant(node);
        return Info{node.kind == NodeKind::Literal ? node.literal.kind() : result};
    }

    // duration("5m") and the like are computed once here rather than per record. Calls that
    // fail are left alone so that the error surfaces with the usual runtime message.
    static void foldConstant(Node &node)
    {
        QList<Value> arguments;
        for (const auto &child : node.children) {
            if (child->kind != NodeKind::Literal)
                return;
            arguments << child->literal;
        }
        if (node.children.empty())
            return;
        const std::span<const Value> values(arguments.constData(), size_t(arguments.size()));
        Result<Value> value = callFunction(node.name, node.isMethod, values, node.regex.get());
        if (!value)
            return;
        node.kind = NodeKind::Literal;
        node.literal = std::move(*value);
        node.children.clear();
    }

    Result<Info> comprehension(Node &node)
    {
        Result<Info> range = visit(*node.children.at(0));
        if (!range)
            return range;
        if (range->kind != Kind::List && range->kind != Kind::Map && range->kind != Kind::Dyn)
            return typeError(
                Tr::tr("%1() needs a list or a map, not %2").arg(node.name, kindName(range->kind)),
                node);
        node.slot = m_program.slotCount++;
        m_scopes.push_back(Scope{node.literal.string(), node.slot,
                                 range->kind == Kind::Map ? Kind::String : Kind::Dyn});
        const bool isMap = node.name == u"map";
        for (std::size_t i = 1; i < node.children.size(); ++i) {
            Result<Info> part = visit(*node.children.at(i));
            if (!part) {
                m_scopes.pop_back();
                return part;
            }
            const bool isTransform = isMap && i + 1 == node.children.size();
            if (!isTransform && part->kind != Kind::Bool && part->kind != Kind::Dyn) {
                m_scopes.pop_back();
                return typeError(Tr::tr("the condition of %1() must be bool, not %2")
                                     .arg(node.name, kindName(part->kind)),
                                 *node.children.at(i));
            }
        }
        m_scopes.pop_back();
        return Info{isMap || node.name == u"filter" ? Kind::List : Kind::Bool};
    }

    Program &m_program;
    const Schema &m_schema;
    QStringList m_models;
    std::vector<Scope> m_scopes;
};

} // namespace

namespace {

// Adds what `node` and its children read of a record to `read`; false when one of them reads
// `attributes` other than by a named field (whole: in, size(), a comprehension, ==).
bool collectReads(const Node &node, FieldsRead &read)
{
    const auto isAttributes = [](const Node &n) {
        return n.kind == NodeKind::Identifier && n.binding == Binding::RecordField && n.name == u"attributes";
    };
    if (node.kind == NodeKind::Select && isAttributes(*node.children.at(0))) {
        read.attributes.insert(node.name);
        return true;
    }
    if (node.kind == NodeKind::Index && isAttributes(*node.children.at(0)) && isStringLiteral(*node.children.at(1))) {
        read.attributes.insert(node.children.at(1)->literal.string());
        return true;
    }
    if (isAttributes(node))
        return false;
    if (node.kind == NodeKind::Identifier && node.binding == Binding::RecordField)
        read.fields.insert(node.name);
    for (const auto &child : node.children) {
        if (!collectReads(*child, read))
            return false;
    }
    return true;
}

} // namespace

Result<void> check(Program &program, const Schema &schema)
{
    computeHints(program);
    if (Result<void> checked = Checker(program, schema).run(); !checked)
        return checked;
    FieldsRead read;
    if (collectReads(*program.root, read))
        program.fieldsRead = std::move(read);
    return {};
}

} // namespace Swamp::Query::Internal
