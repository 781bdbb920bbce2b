#include "query/schema.h"

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Swamp::Query {

static Schema makeBuiltin()
{
    using enum FieldType;
    Schema schema;
    schema.addModel(u"swamp/worker"_s, {{u"status"_s, String},
                                        {u"machineId"_s, String},
                                        {u"instanceId"_s, String},
                                        {u"tokenName"_s, String},
                                        {u"platform"_s, String},
                                        {u"arch"_s, String},
                                        {u"version"_s, String},
                                        {u"hostname"_s, String},
                                        {u"orchestrator"_s, String},
                                        {u"labels"_s, Map},
                                        {u"capacity"_s, Int},
                                        {u"activeSteps"_s, Int},
                                        {u"draining"_s, Bool},
                                        {u"paused"_s, Bool},
                                        {u"enrolledAt"_s, Timestamp},
                                        {u"lastSeenAt"_s, Timestamp},
                                        {u"disconnectedAt"_s, Timestamp}});
    schema.addModel(u"swamp/enrollment-token"_s, {{u"state"_s, String},
                                                  {u"expiresAt"_s, Timestamp},
                                                  {u"revokedAt"_s, Timestamp},
                                                  {u"revokeReason"_s, String},
                                                  {u"maxEnrollments"_s, Int},
                                                  {u"enrollments"_s, Int},
                                                  {u"bindings"_s, List},
                                                  {u"labels"_s, Map},
                                                  {u"audit"_s, List}});
    schema.addModel(u"swamp/step"_s, {{u"runId"_s, String},
                                      {u"requirement"_s, String},
                                      {u"state"_s, String},
                                      {u"command"_s, List},
                                      {u"exitCode"_s, Int},
                                      {u"error"_s, String},
                                      {u"attempt"_s, Int},
                                      {u"maxAttempts"_s, Int},
                                      {u"atMostOnce"_s, Bool},
                                      {u"maskedEnv"_s, List},
                                      {u"target"_s, String},
                                      {u"platform"_s, String},
                                      {u"labels"_s, Map},
                                      {u"workerName"_s, String},
                                      {u"timeoutSeconds"_s, Int},
                                      {u"queuedAt"_s, Timestamp},
                                      {u"startedAt"_s, Timestamp},
                                      {u"finishedAt"_s, Timestamp}});
    schema.addModel(u"swamp/step-lease"_s, {{u"stepId"_s, String},
                                            {u"runId"_s, String},
                                            {u"workerId"_s, String},
                                            {u"workerName"_s, String},
                                            {u"state"_s, String},
                                            {u"attempt"_s, Int},
                                            {u"error"_s, String},
                                            {u"exitCode"_s, Int},
                                            {u"startedAt"_s, Timestamp},
                                            {u"endedAt"_s, Timestamp}});
    schema.addModel(u"swamp/run"_s, {{u"state"_s, String},
                                     {u"steps"_s, Int},
                                     {u"succeeded"_s, Int},
                                     {u"failed"_s, Int},
                                     {u"finishedAt"_s, Timestamp}});
    schema.addModel(u"swamp/audit-event"_s, {{u"action"_s, String},
                                             {u"at"_s, Timestamp},
                                             {u"tokenName"_s, String},
                                             {u"tokenId"_s, String},
                                             {u"workerName"_s, String},
                                             {u"client"_s, Map},
                                             {u"address"_s, String},
                                             {u"reason"_s, String}});
    return schema;
}

const Schema &Schema::builtin()
{
    static const Schema schema = makeBuiltin();
    return schema;
}

void Schema::addModel(const QString &modelType,
                      const QList<std::pair<QString, FieldType>> &attributes)
{
    if (!m_models.contains(modelType))
        m_order << modelType;
    m_models.insert(modelType, attributes);
}

QStringList Schema::modelTypes() const
{
    return m_order;
}

bool Schema::hasModel(const QString &modelType) const
{
    return m_models.contains(modelType);
}

QList<std::pair<QString, FieldType>> Schema::attributes(const QString &modelType) const
{
    return m_models.value(modelType);
}

std::optional<FieldType> Schema::attributeType(const QString &name,
                                               const QStringList &modelTypes) const
{
    std::optional<FieldType> found;
    for (const QString &model : modelTypes.isEmpty() ? m_order : modelTypes) {
        for (const auto &[field, type] : m_models.value(model)) {
            if (field != name)
                continue;
            if (found && *found != type)
                return FieldType::Any;
            found = type;
        }
    }
    return found;
}

QStringList Schema::attributeNames(const QStringList &modelTypes) const
{
    QStringList names;
    for (const QString &model : modelTypes.isEmpty() ? m_order : modelTypes) {
        for (const auto &field : m_models.value(model))
            names << field.first;
    }
    names.sort();
    names.removeDuplicates();
    return names;
}

QList<std::pair<QString, FieldType>> Schema::topLevelFields()
{
    return {{u"modelType"_s, FieldType::String},    {u"name"_s, FieldType::String},
            {u"id"_s, FieldType::String},           {u"createdAt"_s, FieldType::Timestamp},
            {u"updatedAt"_s, FieldType::Timestamp}, {u"attributes"_s, FieldType::Map}};
}

} // namespace Swamp::Query
