#pragma once

#include <QTimer>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QSettings;
class QSortFilterProxyModel;
class QTableView;

namespace Swamp {
struct Event;
}

namespace Swamp::Console {

class AdminSession;
class AuditModel;

// The audit trail: who created, extended or revoked which token and who pruned, paused, resumed,
// relabelled or removed which worker, when, from where and why (newest first), filterable by
// text and by action. Read with data.query (`swamp/audit-event`) at each connection and again
// after the events of audited actions (coalesced).
class AuditTab final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AuditTab)

public:
    AuditTab(AdminSession *session, QWidget *parent = nullptr);

    AuditModel *model() const { return m_model; }
    QTableView *view() const { return m_view; }
    QLineEdit *filterEdit() const { return m_filter; }
    QComboBox *actionBox() const { return m_action; }
    QSortFilterProxyModel *proxy() const { return m_proxy; }
    QString statusText() const;

    // Reads the trail again now.
    void refresh();

    void saveState(QSettings &settings) const;
    void restoreState(const QSettings &settings);

private:
    void setUpFilters();
    void handleEvent(const Swamp::Event &event);
    void updateSummary();

    AdminSession *m_session;
    AuditModel *m_model;
    QSortFilterProxyModel *m_actionProxy;
    QSortFilterProxyModel *m_proxy;
    QLineEdit *m_filter;
    QComboBox *m_action;
    QTableView *m_view;
    QLabel *m_summary;
    QTimer m_refreshTimer;
    QString m_error;
};

} // namespace Swamp::Console
