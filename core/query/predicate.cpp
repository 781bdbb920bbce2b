#include "query/predicate.h"

#include "query/checker_p.h"
#include "query/errors_p.h"
#include "query/evaluator_p.h"
#include "query/parser_p.h"

using namespace Qt::StringLiterals;

namespace Swamp::Query {

Result<Predicate> Predicate::compile(const QString &text, const Schema &schema)
{
    Result<std::unique_ptr<Internal::Node>> root = Internal::parse(text);
    if (!root)
        return std::unexpected(root.error());
    auto program = std::make_shared<Internal::Program>();
    program->source = text;
    program->root = std::move(*root);
    if (Result<void> checked = Internal::check(*program, schema); !checked)
        return std::unexpected(checked.error());
    Predicate predicate;
    predicate.m_program = std::move(program);
    return predicate;
}

static qint64 toMs(const QDateTime &now)
{
    return now.isValid() ? now.toMSecsSinceEpoch() : 0;
}

Result<bool> Predicate::matches(const QJsonObject &record, const QDateTime &now) const
{
    Result<Internal::Value> value = Internal::evaluate(*m_program, record, toMs(now));
    if (!value)
        return std::unexpected(value.error());
    if (value->kind() != Internal::Kind::Bool) {
        const Internal::Node &root = *m_program->root;
        return std::unexpected(Internal::positionedError(
            u"query_type"_s,
            Tr::tr("query predicate evaluates to %1, not bool")
                .arg(Internal::kindName(value->kind())),
            root.start, root.end - root.start,
            Tr::tr("compare it with something, e.g. attributes.status == \"idle\"")));
    }
    return value->boolean();
}

Result<QJsonValue> Predicate::evaluate(const QJsonObject &record, const QDateTime &now) const
{
    Result<Internal::Value> value = Internal::evaluate(*m_program, record, toMs(now));
    if (!value)
        return std::unexpected(value.error());
    return Internal::toJson(*value);
}

QString Predicate::text() const
{
    return m_program->source;
}

FieldType Predicate::resultType() const
{
    switch (m_program->root->staticKind) {
    case Internal::Kind::Bool:
        return FieldType::Bool;
    case Internal::Kind::Int:
        return FieldType::Int;
    case Internal::Kind::Double:
        return FieldType::Double;
    case Internal::Kind::String:
        return FieldType::String;
    case Internal::Kind::Timestamp:
        return FieldType::Timestamp;
    case Internal::Kind::Duration:
        return FieldType::Duration;
    case Internal::Kind::List:
        return FieldType::List;
    case Internal::Kind::Map:
        return FieldType::Map;
    case Internal::Kind::Null:
    case Internal::Kind::Dyn:
        break;
    }
    return FieldType::Any;
}

std::optional<QStringList> Predicate::modelTypes() const
{
    return m_program->modelTypes;
}

QList<std::pair<QString, QJsonValue>> Predicate::attributeEqualities() const
{
    return m_program->attributeEqualities;
}

} // namespace Swamp::Query
