#pragma once

#include "common/error.h"

#include <QJsonObject>
#include <QWidget>

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSortFilterProxyModel;
class QSpinBox;
class QSplitter;
class QTableView;
class QToolButton;
class QTreeView;

namespace Swamp::Console {

class AdminSession;
class JsonTreeModel;
class QueryResultModel;

// `swamp data query` in a window: the predicate editor with live validation from core/query (the
// error underlined at its position, the suggestion shown), --select and --limit, the results as
// a table, the selected result as an expandable tree (its attributes open), copy and export.
class QueryTab final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(QueryTab)

public:
    explicit QueryTab(AdminSession *session, QWidget *parent = nullptr);

    QPlainTextEdit *editor() const { return m_editor; }
    QLineEdit *selectEdit() const { return m_select; }
    QTableView *view() const { return m_view; }
    QueryResultModel *model() const { return m_model; }
    QTreeView *treeView() const { return m_tree; }
    JsonTreeModel *treeModel() const { return m_treeModel; }
    // Copies the selected tree node's value (or, from the table, the selected result) as JSON.
    QAction *copyValueAction() const { return m_copyValue; }
    QAction *copyResultAction() const { return m_copyResult; }
    // Selects the result in `row` of the table (as sorted) and shows it in the tree.
    void selectResult(int row);
    QAction *runAction() const { return m_run; }
    QAction *exportAction() const { return m_export; }
    QString validationText() const;
    // The underlined span (start, length) of the current error; length 0 when none.
    std::pair<int, int> errorSpan() const { return m_errorSpan; }
    QString statusText() const;

    void setPredicate(const QString &predicate);
    void run();
    // Writes the last response ({predicate, results, total, limited}) as indented JSON.
    bool exportTo(const QString &path, QString *errorString = nullptr) const;

private:
    void setUpEditors();
    void setUpActions();
    void connectEditors();
    void setUpResults();
    void setUpLayout(QToolButton *runButton, QToolButton *exportButton);
    void validate();
    void showError(const Error &error, bool fromPredicate);
    void exportResults();
    void showSelectedResult();
    QJsonValue selectedResult() const;

    AdminSession *m_session;
    QPlainTextEdit *m_editor;
    QLineEdit *m_select;
    QSpinBox *m_limit;
    QComboBox *m_examples;
    QLabel *m_validation;
    QLabel *m_status;
    QueryResultModel *m_model;
    QSortFilterProxyModel *m_proxy;
    QTableView *m_view;
    JsonTreeModel *m_treeModel;
    QTreeView *m_tree;
    QSplitter *m_splitter;
    QAction *m_run;
    QAction *m_export;
    QAction *m_copyValue;
    QAction *m_copyResult;
    QJsonObject m_lastResponse;
    std::pair<int, int> m_errorSpan{0, 0};
    bool m_valid = false;
};

} // namespace Swamp::Console
