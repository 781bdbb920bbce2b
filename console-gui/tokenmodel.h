#pragma once

#include "livetablemodel.h"

#include <QDateTime>
#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QList>

namespace Swamp::Console {

// Enrollment tokens as `token.list` returns them (never a secret), keyed by token id: a list plus
// an id→row hash, per-row dataChanged on upserts, begin/end on inserts and removes. The state is
// the effective one and turns "expired" by itself when the expiry passes (setNow()).
class TokenModel final : public LiveTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TokenModel)

public:
    enum Column { Name, State, Enrollments, Expires, Labels, Created, ColumnCount };
    enum Role { SortRole = Qt::UserRole + 1, IdRole, NameRole, RawStateRole, FilterRole };

    explicit TokenModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    void setTokens(const QJsonArray &tokens);
    void upsert(const QJsonObject &token);
    void remove(const QString &id);

    int rowOf(const QString &id) const { return m_rows.value(id, -1); }
    QJsonObject tokenAt(int row) const { return m_tokens.at(row); }
    // The state now (tokenStateNameAt()): "unused", "enrolled", "expired" or "revoked".
    QString effectiveState(const QJsonObject &token) const;

    void setNow(const QDateTime &now);

protected:
    QVariant liveData(const QModelIndex &index, int role) const override;

private:
    QVariant displayValue(const QJsonObject &token, int column) const;
    QVariant sortValue(const QJsonObject &token, int column) const;

    QList<QJsonObject> m_tokens;
    QHash<QString, int> m_rows;
    QDateTime m_now;
};

} // namespace Swamp::Console
