#include "tokenmodel.h"

#include "statuspalette.h"

#include "common/duration.h"
#include "common/labels.h"
#include "model/token.h"

#include <QGuiApplication>
#include <QLocale>
#include <QSet>

namespace Swamp::Console {

namespace {
QString idOf(const QJsonObject &token)
{
    return token.value(QStringLiteral("id")).toString();
}

QDateTime timeOf(const QJsonObject &token, const char16_t *field)
{
    return parseIsoUtc(token.value(QString::fromUtf16(field)).toString());
}
} // namespace

TokenModel::TokenModel(QObject *parent)
    : LiveTableModel(parent)
    , m_now(QDateTime::currentDateTimeUtc())
{
}

int TokenModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_tokens.size());
}

int TokenModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString TokenModel::effectiveState(const QJsonObject &token) const
{
    return tokenStateNameAt(token.value(QStringLiteral("state")).toString(), timeOf(token, u"expiresAt"), m_now);
}

QVariant TokenModel::displayValue(const QJsonObject &token, int column) const
{
    switch (column) {
    case Name: return token.value(QStringLiteral("name")).toString();
    case State: return StatusPalette::tokenStateText(effectiveState(token));
    case Enrollments: {
        const QJsonValue max = token.value(QStringLiteral("maxEnrollments"));
        const int used = token.value(QStringLiteral("enrollments")).toInt();
        return max.isNull() || max.toInt() == 0 ? tr("%1/unlimited").arg(used)
                                                : tr("%1/%2").arg(used).arg(max.toInt());
    }
    case Expires: {
        const QString state = effectiveState(token);
        if (state == u"revoked")
            return tr("revoked %1").arg(formatRelative(timeOf(token, u"revokedAt"), m_now));
        return formatRelative(timeOf(token, u"expiresAt"), m_now);
    }
    case Labels: return formatLabels(labelsFromJson(token.value(QStringLiteral("labels")).toObject()));
    case Created: return formatRelative(timeOf(token, u"createdAt"), m_now);
    }
    return {};
}

QVariant TokenModel::sortValue(const QJsonObject &token, int column) const
{
    switch (column) {
    case Enrollments: return token.value(QStringLiteral("enrollments")).toInt();
    case Expires: return timeOf(token, u"expiresAt").toMSecsSinceEpoch();
    case Created: return timeOf(token, u"createdAt").toMSecsSinceEpoch();
    case State: return effectiveState(token);
    default: return displayValue(token, column);
    }
}

QVariant TokenModel::liveData(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const QJsonObject &token = m_tokens.at(index.row());
    switch (role) {
    case Qt::DisplayRole: return displayValue(token, index.column());
    case SortRole: return sortValue(token, index.column());
    case IdRole: return idOf(token);
    case NameRole: return token.value(QStringLiteral("name")).toString();
    case RawStateRole: return effectiveState(token);
    case FilterRole: {
        QStringList parts;
        for (int column = 0; column < ColumnCount; ++column)
            parts << displayValue(token, column).toString();
        parts << effectiveState(token);
        return parts.join(u'\n');
    }
    case Qt::ToolTipRole: {
        QDateTime when;
        if (index.column() == Expires)
            when = timeOf(token, u"expiresAt");
        else if (index.column() == Created)
            when = timeOf(token, u"createdAt");
        else if (index.column() == State && effectiveState(token) == u"revoked")
            return token.value(QStringLiteral("revokeReason")).toString();
        return when.isValid() ? QLocale().toString(when.toLocalTime(), QLocale::LongFormat) : QVariant();
    }
    case Qt::ForegroundRole: {
        const QString state = effectiveState(token);
        if (index.column() == State)
            return StatusPalette::tokenStateColor(state, QGuiApplication::palette());
        if (state == u"expired" || state == u"revoked")
            return QGuiApplication::palette().color(QPalette::Disabled, QPalette::Text);
        return {};
    }
    case Qt::DecorationRole:
        if (index.column() == State)
            return StatusPalette::tokenStateIcon(effectiveState(token));
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == Enrollments)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    }
    return {};
}

QVariant TokenModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return LiveTableModel::headerData(section, orientation, role);
    switch (section) {
    case Name: return tr("Name");
    case State: return tr("State");
    case Enrollments: return tr("Enrollments");
    case Expires: return tr("Expires");
    case Labels: return tr("Labels");
    case Created: return tr("Created");
    }
    return {};
}

void TokenModel::setTokens(const QJsonArray &tokens)
{
    QSet<QString> present;
    for (const QJsonValue &token : tokens)
        present.insert(idOf(token.toObject()));
    for (int row = int(m_tokens.size()) - 1; row >= 0; --row) {
        if (!present.contains(idOf(m_tokens.at(row))))
            remove(idOf(m_tokens.at(row)));
    }
    for (const QJsonValue &token : tokens)
        upsert(token.toObject());
}

void TokenModel::upsert(const QJsonObject &token)
{
    const QString id = idOf(token);
    const int row = m_rows.value(id, -1);
    if (row >= 0) {
        if (m_tokens.at(row) == token)
            return;
        m_tokens[row] = token;
        Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
        return;
    }
    const int newRow = int(m_tokens.size());
    beginInsertRows({}, newRow, newRow);
    m_tokens.append(token);
    m_rows.insert(id, newRow);
    endInsertRows();
}

void TokenModel::remove(const QString &id)
{
    const int row = m_rows.value(id, -1);
    if (row < 0)
        return;
    beginRemoveRows({}, row, row);
    m_tokens.removeAt(row);
    m_rows.remove(id);
    for (int i = row; i < m_tokens.size(); ++i)
        m_rows.insert(idOf(m_tokens.at(i)), i);
    endRemoveRows();
}

void TokenModel::setNow(const QDateTime &now)
{
    m_now = now;
    // Time moves state (expiry) and the relative columns; the other columns stay as they are.
    if (!m_tokens.isEmpty()) {
        const int last = int(m_tokens.size()) - 1;
        Q_EMIT dataChanged(index(0, State), index(last, State));
        Q_EMIT dataChanged(index(0, Expires), index(last, Expires));
        Q_EMIT dataChanged(index(0, Created), index(last, Created));
    }
}

} // namespace Swamp::Console
