#include "query/predicate.h"

#include "query/checker_p.h"
#include "query/errors_p.h"
#include "query/evaluator_p.h"
#include "query/parser_p.h"
#include "query/quick_p.h"

#include <algorithm>

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
    Internal::foldConstantLists(*program->root); // after the checks and hints: they read the tree as written
    Internal::addQuickTests(*program->root);
    Predicate predicate;
    predicate.m_program = std::move(program);
    return predicate;
}

static qint64 toMs(const QDateTime &now)
{
    return now.isValid() ? now.toMSecsSinceEpoch() : 0;
}

namespace {

// The predicate's value as matches() reads it: bool, else an error.
Result<bool> asMatch(const Internal::Program &program, Result<Internal::Value> value)
{
    if (!value)
        return std::unexpected(value.error());
    if (value->kind() != Internal::Kind::Bool) {
        const Internal::Node &root = *program.root;
        return std::unexpected(Internal::positionedError(
            u"query_type"_s,
            Tr::tr("query predicate evaluates to %1, not bool")
                .arg(Internal::kindName(value->kind())),
            root.start, root.end - root.start,
            Tr::tr("compare it with something, e.g. attributes.status == \"idle\"")));
    }
    return value->boolean();
}

Result<QJsonValue> asJson(Result<Internal::Value> value)
{
    if (!value)
        return std::unexpected(value.error());
    return Internal::toJson(*value);
}

} // namespace

Result<bool> Predicate::matches(const QJsonObject &record, const QDateTime &now) const
{
    if (m_allKnown)
        return true; // what evaluating it would answer, each condition skipped
    return asMatch(*m_program, Internal::evaluate(*m_program, record, toMs(now), m_skip));
}

Result<bool> Predicate::matches(const Record &record, const QDateTime &now) const
{
    if (m_allKnown)
        return true; // what evaluating it would answer, each condition skipped
    return asMatch(*m_program, Internal::evaluate(*m_program, record, toMs(now), m_skip));
}

Result<QJsonValue> Predicate::evaluate(const QJsonObject &record, const QDateTime &now) const
{
    return asJson(Internal::evaluate(*m_program, record, toMs(now), m_skip));
}

Result<QJsonValue> Predicate::evaluate(const Record &record, const QDateTime &now) const
{
    return asJson(Internal::evaluate(*m_program, record, toMs(now), m_skip));
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

std::optional<FieldsRead> Predicate::fieldsRead() const
{
    return m_program->fieldsRead;
}

Predicate Predicate::forModelType(const QString &modelType) const
{
    Predicate scoped = *this;
    scoped.m_skip.clear();
    bool any = false;
    for (const std::optional<QStringList> &types : m_program->conjunctModelTypes) {
        scoped.m_skip.push_back(types && types->contains(modelType));
        any = any || scoped.m_skip.back();
    }
    if (!any)
        scoped.m_skip.clear();
    scoped.knowWhetherAllKnown();
    return scoped;
}

void Predicate::knowWhetherAllKnown()
{
    m_allKnown = !m_skip.empty() && std::all_of(m_skip.cbegin(), m_skip.cend(), [](bool known) { return known; });
}

Predicate Predicate::knowingTrue(const std::function<bool(const QString &, const QJsonValue &)> &holds) const
{
    Predicate scoped = *this;
    const auto &equalities = m_program->attributeEqualities;
    for (qsizetype i = 0; i < equalities.size(); ++i) {
        if (!holds(equalities.at(i).first, equalities.at(i).second))
            continue;
        if (scoped.m_skip.empty())
            scoped.m_skip.assign(m_program->conjunctModelTypes.size(), false);
        scoped.m_skip[size_t(m_program->equalityConjuncts.at(size_t(i)))] = true;
    }
    scoped.knowWhetherAllKnown();
    return scoped;
}

} // namespace Swamp::Query
