namespace DualCluster.RocketMQ.Remoting;

/// <summary>Request codes of the 4.x remoting protocol (fact sheet §2.0).</summary>
internal static class RequestCode
{
    public const int SendMessage = 10;
    public const int PullMessage = 11;
    public const int QueryConsumerOffset = 14;
    public const int UpdateConsumerOffset = 15;
    public const int SearchOffsetByTimestamp = 29;
    public const int GetMaxOffset = 30;
    public const int GetMinOffset = 31;
    public const int GetEarliestMsgStoreTime = 32;
    public const int HeartBeat = 34;
    public const int UnregisterClient = 35;
    public const int ConsumerSendMsgBack = 36;
    public const int GetConsumerListByGroup = 38;
    public const int CheckTransactionState = 39;
    public const int NotifyConsumerIdsChanged = 40;
    public const int GetAllDelayOffset = 45;
    public const int CheckClientConfig = 46;
    public const int GetRouteInfoByTopic = 105;
    public const int GetBrokerClusterInfo = 106;
    public const int GetConsumeStats = 208;
    public const int ResetConsumerClientOffset = 220;
    public const int GetConsumerStatusFromClient = 221;
    public const int QueryTopicConsumeByWho = 300;
    public const int GetConsumerRunningInfo = 307;
    public const int ConsumeMessageDirectly = 309;
    public const int SendMessageV2 = 310;
    public const int SendBatchMessage = 320;
}
